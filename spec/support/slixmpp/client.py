"""A real third-party XMPP client for the specs: Debian's python3-slixmpp, logged in on plaintext loopback.

Usage: /usr/bin/python3 client.py HOST PORT JID PASSWORD
Prints "online <full jid>" once bound, "iq <namespace>" for every IQ set it receives, and "disconnected"
before exiting when the server ends the session. It does not reconnect.
"""
import asyncio
import sys

import slixmpp


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.enable_plaintext = True
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("disconnected", self.on_disconnected)
        # a filter only watches: slixmpp still answers unknown IQs itself (feature-not-implemented)
        self.add_filter("in", self.watch_iq_set)

    async def on_start(self, _event):
        self.send_presence()
        print(f"online {self.boundjid.full}", flush=True)

    def watch_iq_set(self, stanza):
        if stanza.name == "iq" and stanza["type"] == "set":
            children = list(stanza.xml)
            namespace = children[0].tag.split("}")[0].lstrip("{") if children else ""
            print(f"iq {namespace}", flush=True)
        return stanza

    def on_disconnected(self, _event):
        print("disconnected", flush=True)
        asyncio.get_event_loop().stop()


def main():
    host, port, jid, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    client = Client(jid, password)
    client.connect((host, port), disable_starttls=True)
    client.loop.run_forever()


if __name__ == "__main__":
    main()
