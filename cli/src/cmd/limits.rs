//! `--max-*` flags: the limits on one contract file, shared by every command that reads contracts.

use charter_engine::contract::{ContractLimits, ReaderSettings};
use charter_engine::mesh::LoadOptions;

use charter_engine::reading::Reading;
use clap::Args;

/// Limits on one contract file. A file over any of them is a `contract/parse` finding
/// naming the limit; the other files are still checked.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Limits on each contract file")]
pub struct LimitArgs {
    /// Files larger than this many bytes are not read.
    #[arg(long, value_name = "BYTES", default_value_t = ContractLimits::default().max_file_size)]
    pub max_file_size: u64,
    /// The longest line, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ContractLimits::default().max_line_length)]
    pub max_line_length: usize,
    /// The deepest nesting of YAML mappings and sequences.
    #[arg(long, value_name = "N", default_value_t = ContractLimits::default().max_depth)]
    pub max_depth: usize,
    /// The most YAML nodes (keys, values, items), every alias counted as what it repeats.
    #[arg(long, value_name = "N", default_value_t = ContractLimits::default().max_nodes)]
    pub max_nodes: usize,
    /// Follow symlinks that lead out of the repository (the folder given, or the top of
    /// its git work tree); by default such a link is a finding and is not read. Applies
    /// to the contracts, the waivers file and the `--policies` folder.
    #[arg(long, help_heading = "Reading the repository")]
    pub follow_external_symlinks: bool,
}

impl Default for LimitArgs {
    /// The defaults the flags have.
    fn default() -> Self {
        let limits = ContractLimits::default();
        Self {
            max_file_size: limits.max_file_size,
            max_line_length: limits.max_line_length,
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
            follow_external_symlinks: false,
        }
    }
}

impl LimitArgs {
    /// The limits on a file's YAML.
    #[must_use]
    pub fn contract_limits(&self) -> ContractLimits {
        ContractLimits {
            max_file_size: self.max_file_size,
            max_line_length: self.max_line_length,
            max_depth: self.max_depth,
            max_nodes: self.max_nodes,
        }
    }

    /// The same, as plain values.
    #[must_use]
    pub fn reading(&self) -> Reading {
        Reading {
            limits: self.contract_limits(),
            follow_external_symlinks: self.follow_external_symlinks,
        }
    }

    /// Reads one contract file named on the command line (see [`Reading::read_file`]).
    ///
    /// # Errors
    /// The file is too large, not a regular file, out of the repository, or cannot be read.
    pub fn read_file(&self, path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
        self.reading().read_file(path).map_err(anyhow::Error::msg)
    }

    /// Which files of a folder are contracts (see [`Reading::load_options`]).
    #[must_use]
    pub fn load_options(&self) -> LoadOptions {
        self.reading().load_options()
    }

    /// The pack's reader settings with these limits.
    #[must_use]
    pub fn reader(&self, settings: &serde_json::Value) -> ReaderSettings {
        self.reading().reader(settings)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::LimitArgs;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn the_default_is_what_the_flags_default_to() {
        let parsed = Command::parse_from(["charter"]).limits;
        let default = LimitArgs::default();
        assert_eq!(parsed.contract_limits(), default.contract_limits());
    }
}
