import xml, { type Element } from "@xmpp/xml";

/** XEP-0004 Data Forms. */
export const NS_DATA = "jabber:x:data";
export const FORM_TYPE = "FORM_TYPE";

export interface FormField {
  var: string;
  type?: string;
  label?: string;
  values: string[];
  required: boolean;
  options: string[];
}

export interface DataForm {
  type: string;
  title?: string;
  instructions?: string;
  fields: FormField[];
}

export type SubmitValues = Record<string, string | string[] | boolean>;

function optionalAttr(el: Element, name: string): string | undefined {
  const value: unknown = el.attrs[name];
  return typeof value === "string" ? value : undefined;
}

function readField(field: Element): FormField {
  const type = optionalAttr(field, "type");
  const label = optionalAttr(field, "label");
  return {
    var: optionalAttr(field, "var") ?? "",
    ...(type !== undefined && { type }),
    ...(label !== undefined && { label }),
    values: field.getChildren("value").map((value) => value.getText()),
    required: field.getChild("required") !== undefined,
    options: field.getChildren("option").map((option) => option.getChildText("value") ?? ""),
  };
}

/** Reads an `<x xmlns='jabber:x:data'>`; several `<instructions>` are joined with newlines. */
export function readForm(x: Element): DataForm {
  const title = x.getChildText("title") ?? undefined;
  const instructions = x.getChildren("instructions").map((el) => el.getText());
  return {
    type: optionalAttr(x, "type") ?? "",
    ...(title !== undefined && { title }),
    ...(instructions.length > 0 && { instructions: instructions.join("\n") }),
    fields: x.getChildren("field").map(readField),
  };
}

/** The values of the first field named `name`, or [] when the form has no such field. */
export function fieldValues(form: DataForm, name: string): string[] {
  return form.fields.find((field) => field.var === name)?.values ?? [];
}

export function fieldValue(form: DataForm, name: string): string | undefined {
  return fieldValues(form, name)[0];
}

function valueElements(value: string | string[] | boolean): Element[] {
  if (typeof value === "boolean") return [xml("value", {}, value ? "1" : "0")];
  const values = typeof value === "string" ? [value] : value;
  return values.map((text) => xml("value", {}, text));
}

/**
 * An `<x type='submit'>` with one field per key, FORM_TYPE first when given (it wins over a FORM_TYPE key).
 * FORM_TYPE is marked hidden as XEP-0068 asks (ejabberd's probes sent it so; Prosody reads submitted fields by var).
 */
export function buildSubmitForm(values: SubmitValues, formType?: string): Element {
  const fields: Element[] = [];
  const typeOfForm = formType ?? values[FORM_TYPE];
  if (typeof typeOfForm === "string") {
    fields.push(xml("field", { var: FORM_TYPE, type: "hidden" }, xml("value", {}, typeOfForm)));
  }
  for (const [name, value] of Object.entries(values)) {
    if (name === FORM_TYPE && typeof typeOfForm === "string") continue;
    fields.push(xml("field", { var: name }, ...valueElements(value)));
  }
  return xml("x", { xmlns: NS_DATA, type: "submit" }, ...fields);
}
