# Shared fixtures for the rule pack's unit tests (`<area>_test.rego`): a compliant
# normalized product (the Rego `input`, as `charter inspect` prints it) and helpers
# to vary it. Test files only: not loaded when contracts are evaluated.
package charter.rules.fixtures_test

import rego.v1

# A compliant product: no rule of the default pack reports anything on it.
base := {
	"id": "orders.order_events",
	"domain": "orders",
	"name": "order_events",
	"version": "1.2.0",
	"status": "active",
	"owner": "team-orders@acme.example",
	"classification": "confidential",
	"retention": {"period": {"text": "400d", "seconds": 34560000}, "days": 400},
	"sla": {"freshness": {"text": "15m", "seconds": 900}, "availability": 99.9},
	"fields": [
		field("order_id", {"nullable": false, "primary_key": true, "unique": true}),
		field("customer_email", {"pii": true, "masking": "hash"}),
		field("amount", {"type": "decimal(10,2)"}),
		field("region", {}),
		field("unique_customers", {"type": "integer", "transform": "aggregate"}),
	],
	"quality": [
		{"field": "order_id", "assertion": "expect_column_values_to_not_be_null", "kind": "not_null", "threshold": 1.0},
		{"field": "amount", "assertion": "expect_column_values_to_be_between", "kind": "range", "threshold": 0.99},
		{"field": null, "assertion": "rowCount", "kind": "row_count", "threshold": null},
	],
	"lineage": {"upstream": ["raw.kafka.order_events"], "downstream": ["orders.order_lines"]},
	"access": {"roles": ["analyst", "data-scientist"], "policies": ["PII-RED-ACT"]},
	"interfaces": [{"type": "trino", "table": "lake.orders.order_events"}],
	"tags": ["orders"],
	"source": {"file": "domains/orders/order_events.yaml", "format": "datamesh/v1", "api_version": "datamesh.io/v1"},
}

# A field with the model's defaults, changed by `props`.
field(name, props) := object.union(
	{
		"name": name, "type": "string", "nullable": true, "primary_key": false, "unique": false,
		"pii": false, "masking": null, "classification": null, "tags": [], "transform": null,
	},
	props,
)

# The base product with `patch` merged over it (objects merge, arrays are replaced).
product(patch) := object.union(base, patch)

# The paths of a rule's findings.
paths(findings) := {f.path | some f in findings}
