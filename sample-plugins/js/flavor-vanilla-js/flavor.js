// InfraKit's `vanilla` flavor in JavaScript: the same behaviour as the Rust
// sample `sample-plugins/flavor-vanilla`, built with jco + componentize-js
// against the world `deploykit:plugin/flavor-plugin@0.1.0`.
//
// Properties (all optional; `null` is the same as `{}`):
//   {"Init": ["echo hello"], "Tags": {"tier": "web"},
//    "Attachments": [{"ID": "vol-1", "Type": "disk"}]}
//
// Conventions of componentize-js, as used here:
// - WIT records are objects with camelCase fields (`logicalId`), `option<T>`
//   is `undefined` when absent, `list<tuple<string, string>>` is an array of
//   `[key, value]` pairs, and enums are their WIT names as strings.
// - The error case of `result<T, error>` is a thrown value of the WIT variant's
//   shape, `{ tag: "invalid-input", val: "message" }`.
// - Anything else that is thrown (an `Error`, say) cannot be lowered as the
//   error variant, so the component traps and the host reports a fault.
//
// Test hook: properties `{"crash": true}` make `prepare` throw a plain
// `Error`, which the host sees as a trap.

import { log } from "deploykit:plugin/log@0.1.0";

/** A WIT `error` value, thrown to return the error case of a result. */
function witError(tag, message) {
  return { tag, val: message };
}

/** Parses the flavor properties; `null` (or nothing) gives `{}`. */
function parseProperties(json) {
  let value;
  try {
    value = JSON.parse(json ?? "null");
  } catch (e) {
    throw witError("invalid-input", `invalid properties: ${e.message}`);
  }
  if (value === null) {
    value = {};
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    throw witError("invalid-input", "invalid properties: expected a JSON object");
  }
  const props = {
    init: value.Init ?? [],
    template: value.InitScriptTemplateURL ?? "",
    tags: value.Tags ?? {},
    attachments: value.Attachments ?? [],
    crash: value.crash === true,
  };
  if (!Array.isArray(props.init) || props.init.some((l) => typeof l !== "string")) {
    throw witError("invalid-input", "invalid properties: Init must be a list of strings");
  }
  if (typeof props.template !== "string") {
    throw witError("invalid-input", "invalid properties: InitScriptTemplateURL must be a string");
  }
  if (
    typeof props.tags !== "object" ||
    Array.isArray(props.tags) ||
    Object.values(props.tags).some((v) => typeof v !== "string")
  ) {
    throw witError("invalid-input", "invalid properties: Tags must map strings to strings");
  }
  if (
    !Array.isArray(props.attachments) ||
    props.attachments.some((a) => a === null || typeof a.ID !== "string" || typeof a.Type !== "string")
  ) {
    throw witError("invalid-input", 'invalid properties: Attachments must be [{"ID": …, "Type": …}]');
  }
  return props;
}

/** InfraKit's rule: the two ways of giving Init exclude each other. */
function checkInitForms(props) {
  if (props.template !== "" && props.init.length > 0) {
    throw witError(
      "invalid-input",
      'Either "Init" or "InitScriptTemplateURL" can be specified but not both',
    );
  }
}

/** The Init lines to append; templates are not rendered by this port. */
function initLines(props) {
  if (props.template !== "") {
    throw witError(
      "unavailable",
      `InitScriptTemplateURL (${props.template}) is not supported: this vanilla flavor does not ` +
        "fetch or render templates; give the script as Init lines instead",
    );
  }
  return props.init;
}

export const flavor = {
  /** Refuses `Init` together with `InitScriptTemplateURL`. */
  validate(properties, _allocation) {
    const props = parseProperties(properties);
    checkInitForms(props);
    initLines(props);
  },

  /**
   * Appends the Init lines to the spec's Init (joined with "\n", the spec's
   * Init first unless it is empty), merges the tags (the flavor's win) and
   * appends the attachments.
   */
  prepare(properties, spec, _allocation, index) {
    const props = parseProperties(properties);
    if (props.crash) {
      throw new Error(`flavor-vanilla-js was asked to crash (group ${index.group})`);
    }
    const lines = spec.init === "" ? [] : [spec.init];
    lines.push(...initLines(props));
    const tags = new Map(spec.tags);
    for (const [k, v] of Object.entries(props.tags)) {
      tags.set(k, v);
    }
    log("debug", `prepared a spec for group ${index.group}`);
    return {
      properties: spec.properties,
      tags: [...tags],
      init: lines.join("\n"),
      logicalId: spec.logicalId,
      attachments: [
        ...spec.attachments,
        ...props.attachments.map((a) => ({ id: a.ID, kind: a.Type })),
      ],
    };
  },

  /** Always healthy, as in InfraKit. */
  healthy(_properties, _instance) {
    return "healthy";
  },

  /** Nothing to clean up. */
  drain(_properties, _instance) {},
};
