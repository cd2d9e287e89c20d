"""A real slixmpp client that stays: it follows see-other-host (slixmpp's own handling), reconnects after a lost
connection, and with --sm enables XEP-0198 with resumption (slixmpp's xep_0198 plugin resumes on reconnect).

Usage: /usr/bin/python3 roaming.py HOST PORT JID PASSWORD [--sm] [--presence-to JID] [--then HOST:PORT]
--then: where to reconnect after a lost connection (as a load balancer that stopped sending to the first node).
Prints one event per line: "online JID PEERPORT", "sm-enabled", "resumed PEERPORT", "stream-error CONDITION TEXT",
"disconnected", "connect-failed HOST PORT", "message FROM BODY". Stops on SIGTERM.
"""
import logging
import os
import signal
import sys

import slixmpp


def say(*parts):
    print(" ".join(str(p) for p in parts), flush=True)


class Roaming(slixmpp.ClientXMPP):
    def __init__(self, jid, password, presence_to, then):
        super().__init__(jid, password)
        self.then = then
        self.enable_plaintext = True
        self.presence_to = presence_to
        self.redirected = False
        self.announced = False
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("presence_available", self.on_presence)
        self.add_event_handler("session_resumed", lambda _e: say("resumed", self.peer_port()))
        self.add_event_handler("sm_enabled", lambda _e: say("sm-enabled"))
        self.add_event_handler("stream_error", self.on_stream_error)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("message", lambda m: say("message", m["from"], m["body"]))
        self.add_event_handler("connection_failed", lambda _e: say("connect-failed", *self.address))

    def peer_port(self):
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return peer[1] if peer else "?"

    async def on_start(self, _event):
        self.announced = False
        self.send_presence()
        if self.presence_to:
            self.send_presence(pto=self.presence_to)

    def on_presence(self, presence):
        # "online" once the server has echoed our own presence: the session is settled. Observed: a stream error
        # sent right after login, while the client's initial stanzas are in flight, sometimes never reaches
        # slixmpp (the connection just ends). Likely cause: closing a socket with unread input sends a TCP RST,
        # and the client's kernel drops the data it had not yet delivered.
        if presence["from"] == self.boundjid and not self.announced:
            self.announced = True
            say("online", self.boundjid.full, self.peer_port())

    def on_stream_error(self, error):
        condition = error["condition"]
        self.redirected = condition == "see-other-host"
        say("stream-error", condition, error["see_other_host"] if self.redirected else error["text"])

    def on_disconnected(self, _event):
        say("disconnected")
        if self.redirected:
            self.redirected = False  # slixmpp reconnects to the new host itself
        else:
            self.connect(self.then or self.address, disable_starttls=True)


def main():
    if os.environ.get("ROAMING_LOG_DIR"):  # slixmpp's debug log, one file per process, for diagnosing a spec
        logging.basicConfig(filename=os.path.join(os.environ["ROAMING_LOG_DIR"], f"roaming-{os.getpid()}.log"), level=logging.DEBUG)
    host, port, jid, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rest = sys.argv[5:]
    presence_to = rest[rest.index("--presence-to") + 1] if "--presence-to" in rest else None
    then = rest[rest.index("--then") + 1].rsplit(":", 1) if "--then" in rest else None
    client = Roaming(jid, password, presence_to, (then[0], int(then[1])) if then else None)
    if "--sm" in rest:
        client.register_plugin("xep_0198")
    client.loop.add_signal_handler(signal.SIGTERM, client.loop.stop)
    client.connect((host, port), disable_starttls=True)
    client.loop.run_forever()


if __name__ == "__main__":
    main()
