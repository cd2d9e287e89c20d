// @xmpp/component 0.13.1 ships no types and there is no @types/xmpp__component;
// this composes one from the DefinitelyTyped packages of its parts.
declare module "@xmpp/component" {
  import type Connection from "@xmpp/connection";
  import type { IQCaller } from "@xmpp/iq/caller";
  import type { IQCallee } from "@xmpp/iq/callee";
  import type { Middleware } from "@xmpp/middleware";
  import type { Reconnect } from "@xmpp/reconnect";
  import xml from "@xmpp/xml";
  import jid from "@xmpp/jid";

  export interface ComponentOptions {
    service: string;
    domain: string;
    password: string;
  }
  export interface Component extends Connection {
    entity: Component;
    reconnect: Reconnect<Component>;
    middleware: Middleware<Component>;
    iqCaller: IQCaller<Component>;
    iqCallee: IQCallee<Component>;
  }
  export function component(options: ComponentOptions): Component;
  export { xml, jid };
}
