//! Can each PC reach the storage, CQL and JMX ports of every node? Tested from the PCs
//! themselves (a firewall between two PCs is the classic failure, invisible from PC4):
//! each PC runs one script that tries every node's ports at once with a bounded
//! `/dev/tcp` connect and says, per port, open, refused (nothing listens: the node is not
//! running), timed out (something drops the packets: a firewall) or no route.

use std::net::IpAddr;
use std::time::Duration;

/// The ports every node must open to the others: (port, what it carries).
pub const NODE_PORTS: [(u16, &str); 3] = [(7000, "storage"), (9042, "CQL"), (7199, "JMX")];

/// The CQL port: the one PC4's services need on every node.
pub const CQL_PORT: u16 = 9042;

/// How a TCP connect to a port ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Open,
    /// Actively refused: nothing listens there (or a REJECT rule).
    Refused,
    /// No answer within the bound: the packets are dropped on the way.
    TimedOut,
    /// No route to the host or its network.
    NoRoute,
    /// Anything else, as the probe said it.
    Failed(String),
}

/// One connect attempt's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortProbe {
    pub address: IpAddr,
    pub port: u16,
    pub reach: Reach,
}

const MARK: &str = "@@port";

/// The script that probes `targets` (address, port) in parallel, each bounded by `limit`.
pub fn script(targets: &[(IpAddr, u16)], limit: Duration) -> String {
    let seconds = limit.as_secs().max(1);
    let mut script = format!(
        "probe() {{ out=$(timeout {seconds} bash -c \"exec 3<>/dev/tcp/$1/$2\" 2>&1); rc=$?; \
printf '{MARK} %s %s %s %s\\n' \"$1\" \"$2\" \"$rc\" \"$(echo $out)\"; }}\n"
    );
    for (address, port) in targets {
        script.push_str(&format!("probe {address} {port} &\n"));
    }
    script.push_str("wait\n");
    script
}

/// Reads the script's lines: `@@port ADDRESS PORT STATUS MESSAGE`.
pub fn parse(output: &str) -> Vec<PortProbe> {
    output
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix(MARK)?.split_whitespace();
            let address = words.next()?.parse().ok()?;
            let port = words.next()?.parse().ok()?;
            let status: i32 = words.next()?.parse().ok()?;
            let message = words.collect::<Vec<_>>().join(" ");
            Some(PortProbe {
                address,
                port,
                reach: classify(status, &message),
            })
        })
        .collect()
}

/// `timeout` exits 124 when the connect outlived its bound; bash says why it failed.
fn classify(status: i32, message: &str) -> Reach {
    match status {
        0 => Reach::Open,
        124 => Reach::TimedOut,
        _ if message.contains("refused") => Reach::Refused,
        _ if message.contains("No route") || message.contains("unreachable") => Reach::NoRoute,
        _ if message.contains("timed out") => Reach::TimedOut,
        _ => Reach::Failed(if message.is_empty() {
            format!("exit status {status}")
        } else {
            message.to_string()
        }),
    }
}

/// How a connect from this machine (PC4) ended, in the same terms.
pub fn classify_io(error: &std::io::Error) -> Reach {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => Reach::Refused,
        ErrorKind::TimedOut => Reach::TimedOut,
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Reach::NoRoute,
        _ => Reach::Failed(error.to_string()),
    }
}

/// Connects from this machine to `target` (an address and port, or `host:port`) within `limit`.
pub async fn probe_from_here(target: impl tokio::net::ToSocketAddrs, limit: Duration) -> Reach {
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect(target)).await {
        Err(_elapsed) => Reach::TimedOut,
        Ok(Ok(_stream)) => Reach::Open,
        Ok(Err(error)) => classify_io(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_way_a_connect_ends_is_told_apart() {
        let output = "@@port 10.77.0.2 7000 0\n\
@@port 10.77.0.2 9042 1 bash: connect: Connection refused bash: line 1: /dev/tcp/10.77.0.2/9042: Connection refused\n\
@@port 10.77.0.2 7199 124\n\
@@port 10.77.0.9 7000 1 bash: connect: No route to host\n\
@@port 10.77.0.3 7000 127 bash: not found\n\
noise\n";
        let reaches: Vec<(u16, Reach)> = parse(output)
            .into_iter()
            .map(|probe| (probe.port, probe.reach))
            .collect();
        assert_eq!(
            reaches,
            vec![
                (7000, Reach::Open),
                (9042, Reach::Refused),
                (7199, Reach::TimedOut),
                (7000, Reach::NoRoute),
                (7000, Reach::Failed("bash: not found".into())),
            ]
        );
    }

    #[test]
    fn the_script_probes_every_target_in_parallel_with_a_bound() {
        let targets = [
            ("10.77.0.1".parse().unwrap(), 7000),
            ("10.77.0.2".parse().unwrap(), 9042),
        ];
        let script = script(&targets, Duration::from_secs(2));
        assert!(script.contains("timeout 2 bash -c"), "{script}");
        assert!(script.contains("probe 10.77.0.1 7000 &\nprobe 10.77.0.2 9042 &\nwait\n"));
    }

    #[tokio::test]
    async fn from_here_a_closed_port_is_refused_and_an_open_one_open() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        let limit = Duration::from_secs(2);
        assert_eq!(probe_from_here((here, port), limit).await, Reach::Open);
        let endpoint = format!("127.0.0.1:{port}");
        assert_eq!(probe_from_here(endpoint.as_str(), limit).await, Reach::Open);
        drop(listener);
        assert_eq!(probe_from_here((here, port), limit).await, Reach::Refused);
    }
}
