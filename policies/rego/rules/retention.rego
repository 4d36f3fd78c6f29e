# Retention: personal data is not kept forever, and no product keeps data longer
# than its classification allows.
package charter.rules.retention

import rego.v1

# METADATA
# title: PII without a retention period
# description: A product that holds personal data (a field marked PII) must say how long it keeps it (storage limitation, GDPR art. 5(1)(e)).
# custom:
#   severity: error
#   remediation: >-
#     Add `spec.retention.period` (e.g. `400d`), or in ODCS an `slaProperties` entry with `property: retention`.
deny_missing_retention contains {"msg": "the product holds personal data but declares no retention period", "path": "retention"} if {
	object.get(input, "retention", null) == null
	some f in input.fields
	f.pii == true
}

# METADATA
# title: Retention longer than the classification allows
# description: The retention period must not exceed the maximum the central settings give for the product's classification (`retention.max_days`).
# custom:
#   severity: error
#   remediation: Shorten the retention period to the maximum for the classification, or get the classification reviewed.
deny_retention_too_long contains {"msg": msg, "path": "retention.period"} if {
	days := input.retention.days
	class := input.classification
	limits := object.get(data.charter.settings, ["retention", "max_days"], {"public": 3650, "internal": 1825, "confidential": 1095, "restricted": 400})
	limit := limits[class]
	is_number(limit)
	days > limit
	msg := sprintf("retention `%v` (%v days) is longer than the %v days allowed for `%v` products", [input.retention.period.text, days, limit, class])
}
