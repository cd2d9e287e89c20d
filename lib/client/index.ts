// cxfr/client: lets an application's @xmpp/client 0.14 session be moved between server nodes.
//
//   import { client } from "@xmpp/client";
//   import { handleTransfers } from "cxfr/client";
//   const xmpp = client({ service: "xmpp://node-a.example.com:5222", domain: "example.com", … });
//   const transfers = handleTransfers(xmpp, { trusted: ["cxfr.example.com"] }); // before start()
//   await xmpp.start();
//   await xmpp.send(xml("presence"));
//
// Install it before the first presence is sent: that presence is re-sent after a move ends in a
// fresh login. See transfer-handler.ts (who may move the session), relocate.ts (how it moves, with
// and without XEP-0198) and see-other-host.ts. It relies on a few xmpp.js 0.14 internals (lib/xmppjs/internals.ts).
export { handleTransfers, type TransferHandler, type TransferHandlerOptions, type TransferInfo } from "./transfer-handler.ts";
