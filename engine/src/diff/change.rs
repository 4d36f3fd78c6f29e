//! The change model: one difference between two versions of a product.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a change affects the product's consumers and its governance.
///
/// Ordered from worst to mildest, so sorting groups breaking changes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    /// Consumers' queries or assumptions break: needs a major version bump.
    Breaking,
    /// The product protects its data less than it promised: needs a major version bump.
    Governance,
    /// An addition or a relaxation: needs a version bump, any.
    Compatible,
}

impl ChangeClass {
    /// `breaking`, `governance` or `compatible`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::Breaking => "breaking",
            ChangeClass::Governance => "governance",
            ChangeClass::Compatible => "compatible",
        }
    }

    /// Whether the change breaks consumers or governance (needs a major version bump).
    #[must_use]
    pub fn is_breaking(self) -> bool {
        self != ChangeClass::Compatible
    }
}

impl fmt::Display for ChangeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! change_kinds {
    ($($(#[doc = $doc:literal])* $variant:ident = $id:literal, $class:ident;)*) => {
        /// What kind of change: a stable snake_case id (`field_removed`) and its class.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ChangeKind {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ChangeKind {
            /// Every kind, breaking ones first.
            pub const ALL: &'static [ChangeKind] = &[$(ChangeKind::$variant,)*];

            /// The stable id, e.g. `field_removed`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ChangeKind::$variant => $id,)*
                }
            }

            /// The class of every change of this kind.
            #[must_use]
            pub fn class(self) -> ChangeClass {
                match self {
                    $(ChangeKind::$variant => ChangeClass::$class,)*
                }
            }
        }
    };
}

change_kinds! {
    /// The product id differs (only when two files are compared directly).
    ProductIdChanged = "product_id_changed", Breaking;
    /// A field of the old version is gone (path in the old product).
    FieldRemoved = "field_removed", Breaking;
    /// A field's type changed, or was declared or dropped.
    FieldTypeChanged = "field_type_changed", Breaking;
    /// A nullable field became required.
    FieldMadeRequired = "field_made_required", Breaking;
    /// The set of primary-key fields changed.
    PrimaryKeyChanged = "primary_key_changed", Breaking;
    /// A field became unique.
    UniquenessTightened = "uniqueness_tightened", Breaking;
    /// A physical table that served the product is gone (path in the old product).
    InterfaceRemoved = "interface_removed", Breaking;
    /// A field is no longer marked as personal data.
    PiiFlagRemoved = "pii_flag_removed", Governance;
    /// A field's masking method is gone.
    MaskingRemoved = "masking_removed", Governance;
    /// A field's masking method is weaker (see the module's order of strength).
    MaskingWeakened = "masking_weakened", Governance;
    /// The product's classification is lower, or gone.
    ClassificationLowered = "classification_lowered", Governance;
    /// A field's classification is lower, or gone.
    FieldClassificationLowered = "field_classification_lowered", Governance;
    /// Data is kept longer, or the retention is gone (kept indefinitely).
    RetentionLengthened = "retention_lengthened", Governance;
    /// The freshness SLA allows older data, or is gone.
    FreshnessLengthened = "freshness_lengthened", Governance;
    /// The availability SLA is lower, or gone.
    AvailabilityLowered = "availability_lowered", Governance;
    /// The product no longer names an owner.
    OwnerRemoved = "owner_removed", Governance;
    /// A field was added.
    FieldAdded = "field_added", Compatible;
    /// A required field became nullable.
    FieldMadeNullable = "field_made_nullable", Compatible;
    /// A field is no longer unique.
    UniquenessRelaxed = "uniqueness_relaxed", Compatible;
    /// A field is now marked as personal data.
    PiiFlagAdded = "pii_flag_added", Compatible;
    /// A field now names a masking method.
    MaskingAdded = "masking_added", Compatible;
    /// A field's masking method is stronger.
    MaskingStrengthened = "masking_strengthened", Compatible;
    /// The product's classification is higher, or newly declared.
    ClassificationRaised = "classification_raised", Compatible;
    /// A field's classification is higher, or newly declared.
    FieldClassificationRaised = "field_classification_raised", Compatible;
    /// Data is kept for less time, or a retention is newly declared.
    RetentionShortened = "retention_shortened", Compatible;
    /// The freshness SLA is tighter, or newly declared.
    FreshnessShortened = "freshness_shortened", Compatible;
    /// The availability SLA is higher, or newly declared.
    AvailabilityRaised = "availability_raised", Compatible;
    /// The owner changed, or one is newly named.
    OwnerChanged = "owner_changed", Compatible;
    /// The lifecycle status changed.
    StatusChanged = "status_changed", Compatible;
    /// The product's tags changed.
    TagsChanged = "tags_changed", Compatible;
    /// A field's tags changed.
    FieldTagsChanged = "field_tags_changed", Compatible;
    /// A field's declared PII-removing transformation changed.
    FieldTransformChanged = "field_transform_changed", Compatible;
    /// Upstream or downstream lineage changed.
    LineageChanged = "lineage_changed", Compatible;
    /// The roles or access policies changed.
    AccessChanged = "access_changed", Compatible;
    /// Quality checks were added, removed or changed.
    QualityChanged = "quality_changed", Compatible;
    /// A physical table now serves the product.
    InterfaceAdded = "interface_added", Compatible;
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is no change kind id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown change kind `{0}`")]
pub struct UnknownChangeKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownChangeKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChangeKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownChangeKind(s.to_owned()))
    }
}

/// Which version of the product a change's path points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The old version: the thing is gone from the new one (a removed field or table).
    Old,
    /// The new version.
    New,
}

/// One difference between two versions of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// Breaking, governance or compatible (always `kind.class()`).
    pub class: ChangeClass,
    /// The model path of the changed value (`fields[3].type`, `sla.availability`), in the
    /// new product, or in the old one when [`Change::side`] is [`Side::Old`].
    pub path: String,
    /// Which product `path` points into.
    pub side: Side,
    /// The old value as text, when there was one.
    pub old: Option<String>,
    /// The new value as text, when there is one.
    pub new: Option<String>,
    /// What changed, for a person.
    pub message: String,
}

impl Change {
    /// A change of `kind` at `path`, with its class taken from the kind.
    #[must_use]
    pub fn new(
        kind: ChangeKind,
        side: Side,
        path: impl Into<String>,
        old: Option<String>,
        new: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            class: kind.class(),
            path: path.into(),
            side,
            old,
            new,
            message: message.into(),
        }
    }

    /// The model path in the new product whose line a finding about this change shows:
    /// the path itself, or for something removed, the list it was removed from (`fields`).
    #[must_use]
    pub fn new_path(&self) -> &str {
        match self.side {
            Side::New => &self.path,
            Side::Old => self.path.split('[').next().unwrap_or(&self.path),
        }
    }
}
