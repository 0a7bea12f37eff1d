import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { buildParameters, fieldErrors, filterTemplates, groupTemplates, initialValues, paramLabel, type TemplateParameter, type TemplateSummary } from "./templates";

const t = (name: string, category: string, description = "", parameters: TemplateParameter[] = []): TemplateSummary => ({
  id: name,
  name,
  category,
  description,
  builtin: true,
  parameters,
  node_count: 3,
});

const all = [
  t("Parts reorder alert", "Parts", "Parts at their reorder point"),
  t("Lead follow-up", "Sales", "Texts new leads", [{ name: "store_name", type: "string", required: true }]),
  t("Daily lead report", "Sales", "Email of yesterday's leads"),
  t("Custom thing", "Accounting", "Our own"),
  t("Recall notification", "Service", "Owners of recalled vehicles"),
];

describe("grouping and search", () => {
  it("groups by category in the docs' order, others after, each by name", () => {
    const groups = groupTemplates(all);
    expect(groups.map((g) => g.category)).toEqual(["Sales", "Service", "Parts", "Accounting"]);
    expect(groups[0].templates.map((x) => x.name)).toEqual(["Daily lead report", "Lead follow-up"]);
  });

  it("searches name, description and parameter labels, every word, case-insensitively", () => {
    expect(filterTemplates(all, "LEAD", null).map((x) => x.name)).toEqual(["Lead follow-up", "Daily lead report"]);
    expect(filterTemplates(all, "lead email", null).map((x) => x.name)).toEqual(["Daily lead report"]);
    expect(filterTemplates(all, "store name", null).map((x) => x.name)).toEqual(["Lead follow-up"]);
    expect(filterTemplates(all, "recalled", null).map((x) => x.name)).toEqual(["Recall notification"]);
    expect(filterTemplates(all, "", "Parts").map((x) => x.name)).toEqual(["Parts reorder alert"]);
    expect(filterTemplates(all, "lead", "Parts")).toEqual([]);
  });
});

describe("the instantiate form", () => {
  const params: TemplateParameter[] = [
    { name: "store_name", type: "string", required: true, example: "Valley Honda" },
    { name: "hot_score", type: "number", required: false, default: 70 },
    { name: "weekend", type: "boolean", required: false, default: false },
    { name: "vin_mode", type: "enum", options: ["strict", "lenient"], required: false, default: "lenient" },
    { name: "smtp", type: "credential", credential_type: "smtp", required: true },
    { name: "bdc_email", type: "email", required: true },
  ];

  it("labels parameters from their names", () => {
    expect(paramLabel({ name: "store_name" })).toBe("Store name");
    expect(paramLabel({ name: "smtp" })).toBe("SMTP");
    expect(paramLabel({ name: "bdc_email" })).toBe("BDC email");
    expect(paramLabel({ name: "x", label: "Given" })).toBe("Given");
  });

  it("starts from the defaults and preselects the only credential of the type", () => {
    const values = initialValues(params, [
      { id: "c1", name: "Twilio", type: "twilio" },
      { id: "c2", name: "Mail", type: "smtp" },
    ]);
    expect(values).toEqual({ store_name: "", hot_score: "70", weekend: false, vin_mode: "lenient", smtp: "c2", bdc_email: "" });
  });

  it("sends typed values and leaves empty fields out", () => {
    expect(
      buildParameters(params, { store_name: " Valley Honda ", hot_score: "80", weekend: true, vin_mode: "", smtp: "c2", bdc_email: "" }),
    ).toEqual({ store_name: "Valley Honda", hot_score: 80, weekend: true, smtp: "c2" });
  });

  it("maps 422 details to fields", () => {
    const err = new ApiError(422, "VALIDATION_ERROR", "bad", [
      { path: "parameters.store_name", issue: "is required" },
      { path: "parameters.smtp", issue: "is not a credential of type smtp" },
      { path: "name", issue: "must not be empty" },
      { path: "definition", issue: "whatever" },
    ]);
    expect(fieldErrors(err)).toEqual({ store_name: "is required", smtp: "is not a credential of type smtp", name: "must not be empty" });
    expect(fieldErrors(new Error("x"))).toEqual({});
  });
});
