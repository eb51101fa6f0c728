//! Parsers for the text `nodetool status` and `nodetool describecluster` print.
//!
//! The conductor sees the cluster the way an operator does: by running
//! nodetool on each PC. Kept apart from any I/O so it can be tested against
//! captured outputs of real clusters.
//!
//! Public API: [`parse_status`] → [`Status`] (rows of [`StatusRow`] with a
//! [`NodeState`] such as `UN` or `DN`), [`parse_describecluster`] →
//! [`DescribeCluster`] (cluster name, schema versions, unreachable endpoints).
//! Lines that are neither headers nor rows (JVM warnings and the like) are ignored.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Up or down, as gossip sees it (the first letter of `UN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveness {
    Up,
    Down,
}

/// Ring membership (the second letter of `UN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Membership {
    Normal,
    Leaving,
    Joining,
    Moving,
}

/// A node's state as `nodetool status` prints it: `UN`, `DN`, `UJ`, `UL`, `UM`...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeState {
    pub liveness: Liveness,
    pub membership: Membership,
}

impl NodeState {
    /// Up and Normal: the only state of a whole cluster's nodes.
    pub const UN: NodeState = NodeState {
        liveness: Liveness::Up,
        membership: Membership::Normal,
    };
    /// Down and Normal: a node that left without leaving the ring.
    pub const DN: NodeState = NodeState {
        liveness: Liveness::Down,
        membership: Membership::Normal,
    };

    pub fn is_up(self) -> bool {
        self.liveness == Liveness::Up
    }
}

impl fmt::Display for NodeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let liveness = match self.liveness {
            Liveness::Up => 'U',
            Liveness::Down => 'D',
        };
        let membership = match self.membership {
            Membership::Normal => 'N',
            Membership::Leaving => 'L',
            Membership::Joining => 'J',
            Membership::Moving => 'M',
        };
        write!(f, "{liveness}{membership}")
    }
}

impl FromStr for NodeState {
    type Err = ParseError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        let mut chars = code.chars();
        let (Some(first), Some(second), None) = (chars.next(), chars.next(), chars.next()) else {
            return Err(ParseError::new(
                "status",
                format!("expected a state such as UN or DN, found {code:?}"),
            ));
        };
        let liveness = match first {
            'U' => Liveness::Up,
            'D' => Liveness::Down,
            _ => {
                return Err(ParseError::new(
                    "status",
                    format!("expected U or D in state {code:?}"),
                ));
            }
        };
        let membership = match second {
            'N' => Membership::Normal,
            'L' => Membership::Leaving,
            'J' => Membership::Joining,
            'M' => Membership::Moving,
            _ => {
                return Err(ParseError::new(
                    "status",
                    format!("expected N, L, J or M in state {code:?}"),
                ));
            }
        };
        Ok(NodeState {
            liveness,
            membership,
        })
    }
}

/// The data a node holds, as printed ("109.4 KiB") and in bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub text: String,
    pub bytes: u64,
}

/// The third column: a token count (vnodes, header "Tokens") or the node's
/// single token (num_tokens 1, header "Token").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokensColumn {
    Count(u32),
    Token(String),
}

/// One node as seen by the node nodetool ran against.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusRow {
    pub datacenter: String,
    pub state: NodeState,
    pub address: IpAddr,
    /// `None` when nodetool prints `?` (unknown, usually a down node).
    pub load: Option<Load>,
    pub tokens: Option<TokensColumn>,
    /// Ownership in percent; `None` when nodetool prints `?`.
    pub owns_percent: Option<f64>,
    pub host_id: Option<String>,
    pub rack: Option<String>,
}

/// The whole `nodetool status` output.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub rows: Vec<StatusRow>,
    /// True when the ownership column is "Owns (effective)" (a keyspace was
    /// given, so replication is accounted for).
    pub effective_ownership: bool,
}

impl Status {
    /// The row for `address`, if this observer knows the node.
    pub fn row(&self, address: IpAddr) -> Option<&StatusRow> {
        self.rows.iter().find(|row| row.address == address)
    }
}

/// One schema version and the endpoints that hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaVersion {
    pub version: String,
    pub endpoints: Vec<String>,
}

/// The parts of `nodetool describecluster` the conductor checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeCluster {
    pub name: String,
    pub snitch: Option<String>,
    pub partitioner: Option<String>,
    /// Reachable endpoints grouped by schema version; one entry means agreement.
    pub schema_versions: Vec<SchemaVersion>,
    /// Endpoints listed under `UNREACHABLE`.
    pub unreachable: Vec<String>,
}

/// Why nodetool output could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot understand `nodetool {command}` output: {reason}")]
pub struct ParseError {
    pub command: &'static str,
    pub reason: String,
}

impl ParseError {
    fn new(command: &'static str, reason: impl Into<String>) -> Self {
        ParseError {
            command,
            reason: reason.into(),
        }
    }
}

/// The IP address in an endpoint as nodetool prints it: `127.0.0.1`,
/// `/127.0.0.1`, `127.0.0.1:7000`, `[::1]:7000`.
pub fn endpoint_ip(endpoint: &str) -> Option<IpAddr> {
    let endpoint = endpoint.trim().trim_start_matches('/');
    if let Ok(ip) = endpoint.parse() {
        return Some(ip);
    }
    if let Some(rest) = endpoint.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    endpoint.rsplit_once(':')?.0.parse().ok()
}

/// Parses `nodetool status [keyspace]`.
pub fn parse_status(text: &str) -> Result<Status, ParseError> {
    let mut rows = Vec::new();
    let mut datacenter = String::new();
    let mut single_token = false;
    let mut effective_ownership = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("Datacenter:") {
            datacenter = name.trim().to_string();
            continue;
        }
        if line.starts_with("--") && line.contains("Address") {
            let headers: Vec<&str> = line.split_whitespace().collect();
            single_token = headers.contains(&"Token");
            effective_ownership = line.contains("Owns (effective)");
            continue;
        }
        if let Some(row) = parse_status_row(line, &datacenter, single_token)? {
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return Err(ParseError::new(
            "status",
            format!("no node rows found in {:?}", excerpt(text)),
        ));
    }
    Ok(Status {
        rows,
        effective_ownership,
    })
}

/// A row is a line starting with a state code followed by an IP address;
/// anything else is not a row (`Ok(None)`).
fn parse_status_row(
    line: &str,
    datacenter: &str,
    single_token: bool,
) -> Result<Option<StatusRow>, ParseError> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (Some(code), Some(address)) = (fields.first(), fields.get(1)) else {
        return Ok(None);
    };
    let (Ok(state), Some(address)) = (code.parse::<NodeState>(), endpoint_ip(address)) else {
        return Ok(None);
    };
    let mut rest = fields[2..].iter().copied().peekable();
    let load = match rest.next() {
        None | Some("?") => None,
        Some(number) => {
            let unit = rest.next_if(|unit| unit_multiplier(unit).is_some());
            Some(parse_load(number, unit).ok_or_else(|| {
                ParseError::new(
                    "status",
                    format!("expected a load such as \"1.2 MiB\" in {line:?}"),
                )
            })?)
        }
    };
    let tokens = rest.next().and_then(|value| match value {
        "?" => None,
        _ if single_token => Some(TokensColumn::Token(value.to_string())),
        _ => value.parse().ok().map(TokensColumn::Count),
    });
    let owns_percent = rest
        .next()
        .and_then(|owns| owns.trim_end_matches('%').parse::<f64>().ok())
        .filter(|owns| owns.is_finite());
    let host_id = rest.next().map(str::to_string);
    let rack: Vec<&str> = rest.collect();
    Ok(Some(StatusRow {
        datacenter: datacenter.to_string(),
        state,
        address,
        load,
        tokens,
        owns_percent,
        host_id,
        rack: (!rack.is_empty()).then(|| rack.join(" ")),
    }))
}

fn unit_multiplier(unit: &str) -> Option<f64> {
    Some(match unit {
        "bytes" | "B" => 1.0,
        "KiB" | "KB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" | "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    })
}

fn parse_load(number: &str, unit: Option<&str>) -> Option<Load> {
    let value: f64 = number.parse().ok()?;
    let multiplier = match unit {
        Some(unit) => unit_multiplier(unit)?,
        None => 1.0,
    };
    let text = match unit {
        Some(unit) => format!("{number} {unit}"),
        None => number.to_string(),
    };
    Some(Load {
        text,
        // Rounding to whole bytes is the precision nodetool prints anyway.
        bytes: (value * multiplier).round() as u64,
    })
}

/// Parses `nodetool describecluster`.
pub fn parse_describecluster(text: &str) -> Result<DescribeCluster, ParseError> {
    let mut name = None;
    let mut snitch = None;
    let mut partitioner = None;
    let mut schema_versions = Vec::new();
    let mut unreachable = Vec::new();
    let mut in_schema_versions = false;
    for raw_line in text.lines() {
        let line = raw_line.trim();
        if line == "Schema versions:" {
            in_schema_versions = true;
            continue;
        }
        if in_schema_versions {
            // Cassandra separates versions with blank lines.
            if line.is_empty() {
                continue;
            }
            if let Some((version, endpoints)) = schema_line(line) {
                if version.eq_ignore_ascii_case("UNREACHABLE") {
                    unreachable.extend(endpoints);
                } else {
                    schema_versions.push(SchemaVersion {
                        version: version.to_string(),
                        endpoints,
                    });
                }
                continue;
            }
            in_schema_versions = false;
        }
        if let Some(value) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("Snitch:") {
            snitch = Some(value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("Partitioner:") {
            partitioner = Some(value.trim().to_string());
        }
    }
    let name = name.ok_or_else(|| {
        ParseError::new(
            "describecluster",
            format!("no \"Name:\" line found in {:?}", excerpt(text)),
        )
    })?;
    if schema_versions.is_empty() && unreachable.is_empty() {
        return Err(ParseError::new(
            "describecluster",
            format!("no schema versions found in {:?}", excerpt(text)),
        ));
    }
    Ok(DescribeCluster {
        name,
        snitch,
        partitioner,
        schema_versions,
        unreachable,
    })
}

/// `version: [a, b, c]` → ("version", ["a", "b", "c"]).
fn schema_line(line: &str) -> Option<(&str, Vec<String>)> {
    let (version, list) = line.split_once(": [")?;
    let list = list.strip_suffix(']')?;
    let endpoints = list
        .split(',')
        .map(str::trim)
        .filter(|endpoint| !endpoint.is_empty())
        .map(str::to_string)
        .collect();
    Some((version.trim(), endpoints))
}

/// The start of an unexpected output, to show in an error.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Cassandra 4/5 with vnodes: "Tokens" holds a count, no keyspace given.
    const STATUS_VNODES: &str = "\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load        Tokens  Owns (effective)  Host ID                               Rack
UN  172.17.0.2  306.77 KiB  256     100.0%            ed19c671-f413-4108-b9f2-1bb62ce8975c  rack1
DN  172.17.0.3  ?           256     66.7%             0f5b6a1e-3c2d-4e1f-9a8b-7c6d5e4f3a2b  rack1
UJ  172.17.0.4  98 bytes    256     ?                 3a0c8f5e-1d2b-4c3a-8e9f-0a1b2c3d4e5f  rack1
";

    /// Two data centres, states L and M, plain "Owns" with the ownership note.
    const STATUS_TWO_DCS: &str = "\
Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns   Host ID                               Rack
UL  10.0.0.1   1.5 GiB    16      25.3%  11111111-1111-1111-1111-111111111111  rack a
Datacenter: dc2
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address    Load       Tokens  Owns   Host ID                               Rack
UM  10.0.1.1   12.25 MiB  16      24.7%  22222222-2222-2222-2222-222222222222  r1
DJ  10.0.1.2   ?          16      ?      33333333-3333-3333-3333-333333333333  r1

Note: Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless
";

    #[test]
    fn parses_states_load_tokens_and_ownership_with_vnodes() {
        let status = parse_status(STATUS_VNODES).unwrap();
        assert!(status.effective_ownership);
        assert_eq!(status.rows.len(), 3);
        let first = &status.rows[0];
        assert_eq!(first.datacenter, "datacenter1");
        assert_eq!(first.state, NodeState::UN);
        assert_eq!(first.address, ip("172.17.0.2"));
        let load = first.load.as_ref().unwrap();
        assert_eq!(load.text, "306.77 KiB");
        assert_eq!(load.bytes, 314_132);
        assert_eq!(first.tokens, Some(TokensColumn::Count(256)));
        assert_eq!(first.owns_percent, Some(100.0));
        assert_eq!(first.rack.as_deref(), Some("rack1"));
        let down = status.row(ip("172.17.0.3")).unwrap();
        assert_eq!(down.state, NodeState::DN);
        assert_eq!(down.load, None);
        assert_eq!(down.owns_percent, Some(66.7));
        let joining = &status.rows[2];
        assert_eq!(joining.state.to_string(), "UJ");
        assert_eq!(joining.load.as_ref().unwrap().bytes, 98);
        assert_eq!(joining.owns_percent, None);
    }

    #[test]
    fn parses_several_datacentres_and_every_state() {
        let status = parse_status(STATUS_TWO_DCS).unwrap();
        assert!(!status.effective_ownership);
        let codes: Vec<String> = status.rows.iter().map(|r| r.state.to_string()).collect();
        assert_eq!(codes, ["UL", "UM", "DJ"]);
        assert_eq!(status.rows[0].datacenter, "dc1");
        assert_eq!(status.rows[0].rack.as_deref(), Some("rack a"));
        assert_eq!(status.rows[1].datacenter, "dc2");
        assert_eq!(status.rows[1].load.as_ref().unwrap().bytes, 12_845_056);
        assert!(!status.rows[2].state.is_up());
    }

    #[test]
    fn ignores_warnings_and_refuses_output_without_rows() {
        let noisy =
            format!("WARN  12:00:00 Only 5.2 GiB free across all data volumes\n{STATUS_VNODES}");
        assert_eq!(parse_status(&noisy).unwrap().rows.len(), 3);
        let err = parse_status("nodetool: Failed to connect to '127.0.0.1:7199'").unwrap_err();
        assert!(err.to_string().contains("no node rows"), "{err}");
    }

    #[test]
    fn parses_a_real_lab_capture() {
        let status =
            parse_status(include_str!("../testdata/nodetool/lab-status-all-up.txt")).unwrap();
        assert!(status.effective_ownership);
        assert_eq!(status.rows.len(), 3);
        assert!(status.rows.iter().all(|row| row.state == NodeState::UN));
        let pc1 = status.row(ip("127.0.0.1")).unwrap();
        assert_eq!(pc1.load.as_ref().unwrap().text, "85.96 KiB");
        assert_eq!(pc1.tokens, Some(TokensColumn::Count(1)));
        assert_eq!(pc1.owns_percent, Some(100.0));
        assert_eq!(
            pc1.host_id.as_deref(),
            Some("2f01a440-07f4-41ab-8fc3-a486a2d5c2ab")
        );
        let described = parse_describecluster(include_str!(
            "../testdata/nodetool/lab-describecluster-all-up.txt"
        ))
        .unwrap();
        assert_eq!(described.name, "iot_demo_lab");
        assert_eq!(described.schema_versions.len(), 1);
        assert_eq!(
            described.schema_versions[0].endpoints,
            ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
        );
        assert!(described.unreachable.is_empty());
    }

    #[test]
    fn parses_a_real_capture_with_a_stopped_node() {
        let status = parse_status(include_str!(
            "../testdata/nodetool/lab-status-pc2-stopped.txt"
        ))
        .unwrap();
        let pc2 = status.row(ip("127.0.0.2")).unwrap();
        assert_eq!(pc2.state, NodeState::DN);
        assert_eq!(pc2.load.as_ref().unwrap().text, "139.85 KiB");
        assert_eq!(status.row(ip("127.0.0.3")).unwrap().state, NodeState::UN);
        let described = parse_describecluster(include_str!(
            "../testdata/nodetool/lab-describecluster-pc2-stopped.txt"
        ))
        .unwrap();
        assert_eq!(described.schema_versions.len(), 1);
        assert_eq!(
            described.schema_versions[0].endpoints,
            ["127.0.0.1", "127.0.0.3"]
        );
        assert_eq!(described.unreachable, ["127.0.0.2"]);
    }

    #[test]
    fn single_token_layout_keeps_the_token() {
        let text = "\
--  Address    Load       Token                 Owns (effective)  Host ID  Rack
UN  127.0.0.1  85.96 KiB  -9223372036854775808  100.0%            2f01a440-07f4-41ab-8fc3-a486a2d5c2ab  rack1
DN  127.0.0.2  ?          -3074457345618258603  100.0%            9b9b6771-20ef-4290-97b2-85a324184772  rack1
";
        let status = parse_status(text).unwrap();
        assert_eq!(
            status.rows[0].tokens,
            Some(TokensColumn::Token("-9223372036854775808".to_string()))
        );
        assert_eq!(status.rows[1].state, NodeState::DN);
        assert_eq!(status.rows[1].owns_percent, Some(100.0));
        assert_eq!(status.rows[1].rack.as_deref(), Some("rack1"));
    }

    #[test]
    fn node_state_round_trips_and_rejects_garbage() {
        for code in ["UN", "UL", "UJ", "UM", "DN", "DL", "DJ", "DM"] {
            assert_eq!(code.parse::<NodeState>().unwrap().to_string(), code);
        }
        assert!("XN".parse::<NodeState>().is_err());
        assert!("UX".parse::<NodeState>().is_err());
        assert!("UNN".parse::<NodeState>().is_err());
    }

    #[test]
    fn endpoints_in_every_notation() {
        assert_eq!(endpoint_ip("127.0.0.2"), Some(ip("127.0.0.2")));
        assert_eq!(endpoint_ip("/127.0.0.2"), Some(ip("127.0.0.2")));
        assert_eq!(endpoint_ip("127.0.0.2:7000"), Some(ip("127.0.0.2")));
        assert_eq!(endpoint_ip("[::1]:7000"), Some(ip("::1")));
        assert_eq!(endpoint_ip("::1"), Some(ip("::1")));
        assert_eq!(endpoint_ip("pc2"), None);
    }

    const DESCRIBE_SPLIT: &str = "\
Cluster Information:
\tName: Test Cluster
\tSnitch: org.apache.cassandra.locator.SimpleSnitch
\tDynamicEndPointSnitch: enabled
\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner
\tSchema versions:
\t\t836f4520-071b-3909-91d9-876181702696: [172.17.0.2, 172.17.0.4]

\t\t9d6c1c2e-2a34-3d5c-8d1a-0c1b2a3d4e5f: [172.17.0.5]

\t\tUNREACHABLE: [172.17.0.3]

Stats for all nodes:
\tLive: 3
\tUnreachable: 1
";

    #[test]
    fn describecluster_with_disagreement_and_unreachable_nodes() {
        let described = parse_describecluster(DESCRIBE_SPLIT).unwrap();
        assert_eq!(described.name, "Test Cluster");
        assert_eq!(
            described.partitioner.as_deref(),
            Some("org.apache.cassandra.dht.Murmur3Partitioner")
        );
        assert_eq!(described.schema_versions.len(), 2);
        assert_eq!(
            described.schema_versions[0].endpoints,
            ["172.17.0.2", "172.17.0.4"]
        );
        assert_eq!(described.unreachable, ["172.17.0.3"]);
    }

    #[test]
    fn describecluster_without_name_is_an_error() {
        let err = parse_describecluster("error: connection refused").unwrap_err();
        assert!(err.to_string().contains("describecluster"), "{err}");
    }
}
