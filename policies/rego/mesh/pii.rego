# PII propagation across lineage.
package charter.mesh.pii

# Per product id, the names of its PII fields (of every contract with that id, so a
# duplicated id, reported by `identity`, never makes two values for one key). An id whose
# contracts have no PII field has no entry.
pii_fields[p.id] contains f.name if {
	some p in data.charter.products
	some f in p.fields
	f.pii
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
	unmarked := {f.name | some f in p.fields; not f.pii}
	some up in p.lineage.upstream
	common := unmarked & object.get(pii_fields, up, set())
	count(common) > 0
	some i, f in p.fields
	not f.pii
	f.name in common
	not object.get(f, "transform", null) in removing
	msg := sprintf("field `%s` is PII in upstream `%s` but is not marked PII here, and declares no transformation that removes it", [f.name, up])
}
