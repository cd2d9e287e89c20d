import type { EventEmitter } from "node:events";

interface ConnectionInternals extends EventEmitter {
  parser: { write(text: string): void } | null;
  _onData(data: Buffer): void;
  _onParserError(error: Error): void;
}

/**
 * xmpp.js 0.13/0.14 feed socket data to the XML parser inside the socket's `data` event without a try: a byte XML
 * 1.0 forbids (`&#x1b;`) throws out of the event and ends the process as an uncaught exception. This catches it
 * and goes the parser-error way (stream error bad-format, `error` event, disconnect): a link error, never a crash.
 * Must run before connect(): xmpp.js binds _onData when it attaches the socket.
 */
export function guardParser(entity: object): void {
  const connection = entity as ConnectionInternals;
  connection._onData = function onData(this: ConnectionInternals, data: Buffer) {
    const text = data.toString("utf8");
    this.emit("input", text);
    if (!this.parser) return;
    try {
      this.parser.write(text);
    } catch (error) {
      this._onParserError(Object.assign(error instanceof Error ? error : new Error(String(error)), { condition: undefined }));
    }
  };
}
