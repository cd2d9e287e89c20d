import xml, { type Element } from "@xmpp/xml";
import { CommandError, ProtocolError } from "../errors.ts";
import { buildSubmitForm, fieldValue, FORM_TYPE, NS_DATA, readForm, type DataForm, type SubmitValues } from "./forms.ts";
import { stanzaErrorOf } from "./stanza.ts";

/** XEP-0050 Ad-Hoc Commands. */
export const NS_COMMANDS = "http://jabber.org/protocol/commands";

export interface CommandNote {
  type: string;
  text: string;
}

export interface CommandResponse {
  node: string;
  sessionid?: string;
  status: string;
  form?: DataForm;
  notes: CommandNote[];
  actions: string[];
}

export interface CommandIqOptions {
  to: string;
  node: string;
  action?: string;
  sessionid?: string;
  form?: Element;
  from?: string;
  id?: string;
}

/** Sends one IQ; resolves the result `<iq>`, rejects with StanzaError when the answer is type=error. */
export type IqRequester = (iq: Element) => Promise<Element>;

export interface RunCommandOptions {
  to: string;
  node: string;
  fields?: SubmitValues;
  from?: string;
  singleStage?: boolean;
  /** FORM_TYPE for a single-stage submission; defaults to the node's namespace (XEP-0133: before the "#"). */
  formType?: string;
}

export function buildCommandIq(opts: CommandIqOptions): Element {
  const iqAttrs: Record<string, string> = { type: "set", to: opts.to };
  if (opts.id !== undefined) iqAttrs.id = opts.id;
  if (opts.from !== undefined) iqAttrs.from = opts.from;
  const commandAttrs: Record<string, string> = { xmlns: NS_COMMANDS, node: opts.node };
  if (opts.sessionid !== undefined) commandAttrs.sessionid = opts.sessionid;
  commandAttrs.action = opts.action ?? "execute";
  return xml("iq", iqAttrs, xml("command", commandAttrs, ...(opts.form ? [opts.form] : [])));
}

function attr(el: Element, name: string): string | undefined {
  const value: unknown = el.attrs[name];
  return typeof value === "string" ? value : undefined;
}

/** Reads the `<command/>` of a reply; a type=error reply throws its StanzaError. */
export function parseCommandResponse(iq: Element): CommandResponse {
  if (iq.attrs.type === "error") throw stanzaErrorOf(iq);
  const command = iq.getChild("command", NS_COMMANDS);
  if (!command) throw new ProtocolError(`reply ${JSON.stringify(attr(iq, "id") ?? "")} carries no ad-hoc <command/>`);
  const x = command.getChild("x", NS_DATA);
  const sessionid = attr(command, "sessionid");
  return {
    node: attr(command, "node") ?? "",
    ...(sessionid !== undefined && { sessionid }),
    status: attr(command, "status") ?? "",
    ...(x && { form: readForm(x) }),
    notes: command.getChildren("note").map((note) => ({ type: attr(note, "type") ?? "info", text: note.getText() })),
    actions: command.getChild("actions")?.getChildElements().map((action) => action.name) ?? [],
  };
}

function failureOf(response: CommandResponse): string | undefined {
  const errorNote = response.notes.find((note) => note.type === "error");
  if (errorNote) return errorNote.text;
  if (response.status === "canceled") return "the server canceled the command";
  return undefined;
}

function namespaceOfNode(node: string): string | undefined {
  const hash = node.indexOf("#");
  return hash > 0 ? node.slice(0, hash) : undefined;
}

/**
 * Runs an ad-hoc command to completion: execute, then (when the server answers with a form) submit `fields` with
 * action=complete in the same session, FORM_TYPE copied from the server's form. With `singleStage` the filled form
 * rides on the first execute; servers that ignore it there (Prosody's announce) still get the second stage.
 * A note of type error or status canceled throws CommandError; other notes are returned for the caller to show.
 */
export async function runCommand(request: IqRequester, opts: RunCommandOptions): Promise<CommandResponse> {
  const { to, node, from } = opts;
  const fields = opts.fields ?? {};
  const step = async (stage: Pick<CommandIqOptions, "action" | "sessionid" | "form">) => {
    const response = parseCommandResponse(await request(buildCommandIq({ to, node, from, ...stage })));
    const failure = failureOf(response);
    if (failure !== undefined) throw new CommandError(node, failure);
    return response;
  };

  const firstForm = opts.singleStage ? buildSubmitForm(fields, opts.formType ?? namespaceOfNode(node)) : undefined;
  const first = await step({ action: "execute", form: firstForm });
  if (first.status !== "executing") return first;
  if (first.sessionid === undefined) throw new ProtocolError(`${node}: executing reply carries no sessionid`);

  const formType = (first.form && fieldValue(first.form, FORM_TYPE)) ?? opts.formType;
  const submit = first.form || opts.fields ? buildSubmitForm(fields, formType) : undefined;
  const second = await step({ action: "complete", sessionid: first.sessionid, form: submit });
  if (second.status === "executing") throw new CommandError(node, "the server asks for more than two stages");
  return second;
}
