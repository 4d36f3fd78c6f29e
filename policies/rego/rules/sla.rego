# Service levels: consumers know how fresh and how available a product is.
package charter.rules.sla

import rego.v1

# METADATA
# title: No freshness SLA
# description: The product must promise how old its newest data may be, so consumers can tell stale data from late data.
# custom:
#   severity: error
#   remediation: >-
#     Add `spec.sla.freshness` (e.g. `15m`), or in ODCS an `slaProperties` entry with `property: latency`.
deny_missing_freshness contains {"msg": "the product declares no freshness SLA", "path": "sla.freshness"} if {
	object.get(input, ["sla", "freshness"], null) == null
}

# METADATA
# title: No availability SLA
# description: The product must promise an availability, as a percentage.
# custom:
#   severity: error
#   remediation: >-
#     Add `spec.sla.availability` (e.g. `99.9%`), or in ODCS an `slaProperties` entry with `property: availability`.
deny_missing_availability contains {"msg": "the product declares no availability SLA", "path": "sla.availability"} if {
	object.get(input, ["sla", "availability"], null) == null
}

# METADATA
# title: Availability below the minimum
# description: The promised availability must be at least the central minimum (`sla.min_availability`).
# custom:
#   severity: error
#   remediation: Raise the availability the product promises to at least the minimum, and make the platform keep it.
deny_availability_too_low contains {"msg": msg, "path": "sla.availability"} if {
	availability := input.sla.availability
	is_number(availability)
	minimum := object.get(data.charter.settings, ["sla", "min_availability"], 99.0)
	availability < minimum
	msg := sprintf("availability %v%% is below the minimum of %v%%", [availability, minimum])
}
