"""The periodic loop's payment jobs: orders and refunds stuck in «pending» are asked about again; autopay charges."""

from sbyt.core.periodic import every

from . import services


@every(60)
def recheck_pending_payments() -> None:
    services.recheck_pending()


@every(15 * 60)
def autopay() -> None:
    services.run_autopay()


@every(60)
def recheck_pending_refunds() -> None:
    services.recheck_pending_refunds()
