"""Channel adapters: each translates its wire format to ``messaging.inbound.receive_text`` and back."""
