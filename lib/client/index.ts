// cxfr/client: lets application developers' @xmpp/client 0.14 sessions be moved between server nodes.
export { handleTransfers, type TransferHandler, type TransferHandlerOptions, type TransferInfo } from "./transfer-handler.ts";
