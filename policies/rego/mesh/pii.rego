# PII propagation across lineage.
package charter.mesh.pii

# Per contract, in the order of `data.charter.products`, the names of its PII fields.
pii_names := [{f.name | some f in p.fields; f.pii} | some p in data.charter.products]

# Every name of a PII field in the repository: a field with another name cannot be a finding.
pii_anywhere := union({names | some names in pii_names})

# Per product id, the indices of its contracts in `data.charter.products`, as in
# `charter.mesh.lineage`. Not a reference to that rule: in regorus, reading it from here
# made this rule three times slower.
contracts := data.charter.index.contracts

contracts := by_id if not data.charter.index.contracts

by_id[p.id] contains i if {
	some i, p in data.charter.products
}

removing := {t | some t in object.get(data.charter.settings, ["pii", "removing_transforms"], ["hash", "aggregate", "drop", "tokenize", "anonymize"])}

# METADATA
# title: PII from an upstream is not marked PII
# description: >-
#   A field with the same name as a PII field of one of the product's upstreams carries
#   personal data unless the product declares a transformation that removes it
#   (`transform: hash`, `aggregate`, `drop`…; see `pii.removing_transforms`).
# custom:
#   severity: error
#   remediation: >-
#     Mark the field `pii: true` with a masking method, or declare the transformation that
#     removes the personal data (`transform: aggregate`).
deny_unmarked_upstream_pii contains {"msg": msg, "product": p.id, "path": sprintf("fields[%d].pii", [i])} if {
	some p in data.charter.products
	# Only fields not marked PII can be findings: compare their names with each upstream's
	# PII at once, and look at single fields only for names they have in common.
	unmarked := {f.name | some f in p.fields; not f.pii} & pii_anywhere
	count(unmarked) > 0
	some up in p.lineage.upstream
	some j in object.get(contracts, up, set())
	common := unmarked & pii_names[j]
	count(common) > 0
	some i, f in p.fields
	not f.pii
	f.name in common
	not object.get(f, "transform", null) in removing
	msg := sprintf("field `%s` is PII in upstream `%s` but is not marked PII here, and declares no transformation that removes it", [f.name, up])
}
