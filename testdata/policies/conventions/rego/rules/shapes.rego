package charter.rules.shapes

import rego.v1

import data.acme.lib

# METADATA
# title: Fine
# description: A set of {msg, path} objects, as the evaluator reads them.
# custom:
#   remediation: Nothing to do.
deny_fine contains {"msg": "bad id", "path": "id"} if {
	lib.kebab(input.id) != input.id
}

# METADATA
# title: Complete rule
# description: A complete rule, not a set.
# custom:
#   remediation: Use `contains`.
deny_complete := {"always"}

# METADATA
# title: Object rule
# description: An object, not a set.
# custom:
#   remediation: Use `contains`.
deny_object[name] := "bad" if {
	some name in input.tags
}

# METADATA
# title: Numbers
# description: A set of numbers, not of messages.
# custom:
#   remediation: Return messages.
warn_numbers contains 1 if {
	input.id == ""
}

warn_undocumented contains "no metadata" if {
	input.id == "x"
}

# METADATA
# title: Said to be an error
# description: Named a warning, annotated as an error; the prefix decides.
# custom:
#   remediation: Rename it or drop custom.severity.
#   severity: error
warn_contradicted contains "contradicted" if {
	input.id == "y"
}
