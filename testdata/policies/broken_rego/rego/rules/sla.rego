package charter.rules.sla

import rego.v1

# METADATA
# title: Availability too low
# description: The SLA promises at least the central minimum.
# custom:
#   remediation: Raise `spec.sla.availability`.
deny_availability_too_low contains msg if {
	input.sla.availability < minimum
	msg := sprintf("availability %v is below %v", [input.sla.availability, minimum])
}
