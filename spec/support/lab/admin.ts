// User registration for lab servers, over XEP-0133 `admin#add-user`.
//
// Every lab server gets a second, lab-only XEP-0114 component (LAB_ADMIN_COMPONENT, its own secret)
// that is always a server admin, whatever ServerOptions.componentIsAdmin says about the component
// under test: Prosody lists it in the global `admins`, ejabberd in `acl: admin: server:` on a
// listener of its own. register() opens one short component connection, runs the two-stage
// add-user command for all users (pipelined, a few in flight), and closes it. That costs a few ms
// per user, where `ejabberdctl register` starts an Erlang VM per user (~0.7 s) and
// `prosodyctl register` a Lua process. The component's domain is not a subdomain of the users'
// domain, so neither server lists it in disco#items of the domain. If an account exists already,
// its password is set with `admin#change-user-password`, so register() is an idempotent upsert.
import { component, xml } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { sleep } from "./processes.ts";

export const LAB_ADMIN_COMPONENT = "cxfr-lab-admin.invalid";

const COMMANDS = "http://jabber.org/protocol/commands";
const ADMIN = "http://jabber.org/protocol/admin";

export interface AdminTarget {
  domain: string;
  adminPort: number;
  adminSecret: string;
}

function submitForm(fields: Record<string, string>): Element {
  return xml(
    "x",
    { xmlns: "jabber:x:data", type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, ADMIN)),
    ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
  );
}

function noteText(cmd: Element | undefined): string {
  return (cmd?.getChildren("note") ?? []).map((n: Element) => n.text()).join("; ");
}

type Comp = ReturnType<typeof component>;

/** Runs a two-stage admin command; returns the final <command/>. Throws on IQ errors / error notes. */
async function runCommand(comp: Comp, domain: string, node: string, fields: Record<string, string>): Promise<Element> {
  const first = await comp.iqCaller.request(
    xml("iq", { type: "set", to: domain }, xml("command", { xmlns: COMMANDS, node, action: "execute" })),
    10_000,
  );
  const cmd1 = first.getChild("command", COMMANDS);
  const sessionid = cmd1?.attrs.sessionid as string | undefined;
  if (!cmd1 || !sessionid) throw new Error(`${node}: no command session in ${first.toString()}`);
  const second = await comp.iqCaller.request(
    xml(
      "iq",
      { type: "set", to: domain },
      xml("command", { xmlns: COMMANDS, node, sessionid, action: "complete" }, submitForm(fields)),
    ),
    10_000,
  );
  const cmd2 = second.getChild("command", COMMANDS);
  const errorNote = cmd2?.getChildren("note").find((n: Element) => n.attrs.type === "error");
  if (errorNote) throw new CommandNoteError(node, noteText(cmd2));
  return cmd2 as Element;
}

class CommandNoteError extends Error {
  constructor(
    readonly node: string,
    readonly note: string,
  ) {
    super(`${node}: ${note}`);
  }
}

function isExists(err: unknown): boolean {
  const e = err as { condition?: string; message?: string; note?: string };
  // Prosody: error note "Account already exists"; ejabberd: <conflict/> stanza error
  return e.condition === "conflict" || /already exists|conflict/i.test(`${e.note ?? ""} ${e.message ?? ""}`);
}

async function addOrUpdate(comp: Comp, domain: string, u: { user: string; password: string }): Promise<void> {
  const accountjid = `${u.user}@${domain}`;
  try {
    await runCommand(comp, domain, `${ADMIN}#add-user`, { accountjid, password: u.password, "password-verify": u.password });
  } catch (err) {
    if (!isExists(err)) throw err;
    await runCommand(comp, domain, `${ADMIN}#change-user-password`, { accountjid, password: u.password });
  }
}

async function connectAdmin(t: AdminTarget, timeoutMs: number): Promise<Comp> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const comp = component({ service: `xmpp://127.0.0.1:${t.adminPort}`, domain: LAB_ADMIN_COMPONENT, password: t.adminSecret });
    comp.reconnect.stop();
    comp.on("error", () => undefined);
    try {
      await comp.start();
      return comp;
    } catch (err) {
      await comp.stop().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`lab admin component could not connect: ${String(err)}`);
      await sleep(100);
    }
  }
}

/** Registers (or re-passwords) users; retries briefly while a just-started server is still loading modules. */
export async function registerUsers(t: AdminTarget, users: Array<{ user: string; password: string }>): Promise<void> {
  if (users.length === 0) return;
  const comp = await connectAdmin(t, 10_000);
  try {
    const queue = [...users];
    const worker = async (): Promise<void> => {
      for (let u = queue.shift(); u; u = queue.shift()) {
        const deadline = Date.now() + 10_000;
        for (;;) {
          try {
            await addOrUpdate(comp, t.domain, u);
            break;
          } catch (err) {
            // item-not-found / service-unavailable: the command is not registered yet (server starting)
            const cond = (err as { condition?: string }).condition;
            if (Date.now() > deadline || !(cond === "item-not-found" || cond === "service-unavailable")) {
              throw new Error(`registering ${u.user}@${t.domain} failed: ${String(err)}`);
            }
            await sleep(100);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, users.length) }, worker));
  } finally {
    await Promise.race([comp.stop().catch(() => undefined), sleep(2000)]);
  }
}
