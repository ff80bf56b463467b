//! Load driver: the rs-svc server against the plain tonic-build server, same handler, same client.
//!
//! ```sh
//! cargo run --release -p rs-svc-grpc-bench --bin grpc-load -- [--seconds 5] [--rounds 4]
//! ```
//!
//! Each server runs in its own process (this binary, `serve <name>`), both pinned to CPU 0 when
//! the machine has two or more; the driver takes the other CPUs. Only one server is loaded at a
//! time, in A/B then B/A order round after round so drift cancels. Every run is closed-loop:
//! `--concurrency` tasks over `--connections` HTTP/2 connections, each sending its next call as
//! soon as the last one finished, for `--seconds` after `--warmup`. The client is the plain
//! tonic-build one for both servers, so the driver does the same work for either.
//! `--pair rs-svc,rs-svc` compares a server with itself: the spread of that ratio is the noise
//! floor of the machine and harness.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rs_svc_grpc_bench::plain::bench::v1::echo_service_client::EchoServiceClient;
use rs_svc_grpc_bench::plain::bench::v1::{EchoRequest, StreamRequest};
use rs_svc_grpc_bench::Generator;
use tonic::transport::{Channel, Endpoint};

const USAGE: &str = "\
usage: grpc-load [options]
  --seconds S       measured time per run (default 5)
  --warmup S        unmeasured time before each run (default 1)
  --rounds N        runs per server and workload, alternating A/B and B/A (default 4)
  --concurrency C   calls in flight (default 32)
  --connections K   HTTP/2 connections per server (default 4)
  --stream-len N    messages per Stream call (default 1000)
  --collect-len N   messages per Collect call (default 100)
  --workloads LIST  comma-separated from unary,stream,collect (default all)
  --no-pin          leave CPU placement to the scheduler
  --max-others PCT  run a round again when other processes took more than PCT% of a CPU
                    during it (default 20)
  --retries N       disturbed rounds run again per workload, at most (default 10)
  --pair A,B        the two servers compared (default rs-svc,tonic-build); rs-svc,rs-svc
                    measures the noise floor, two processes running the same code;
                    rs-svc-serve is our code served by rs_svc::serve instead of tonic's server
       grpc-load serve <rs-svc|tonic-build|rs-svc-serve> [--cpu N]   (run by the driver itself)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    /// `Echo`: one message each way.
    Unary,
    /// `Stream`: one request, `stream_len` messages back.
    Stream,
    /// `Collect`: `collect_len` messages in, one back.
    Collect,
}

impl Workload {
    const ALL: [Workload; 3] = [Workload::Unary, Workload::Stream, Workload::Collect];

    fn name(self) -> &'static str {
        match self {
            Workload::Unary => "unary",
            Workload::Stream => "stream",
            Workload::Collect => "collect",
        }
    }
}

#[derive(Clone, Debug)]
struct Options {
    seconds: f64,
    warmup: f64,
    rounds: usize,
    concurrency: usize,
    connections: usize,
    stream_len: u32,
    collect_len: usize,
    workloads: Vec<Workload>,
    pin: bool,
    /// A round whose runs saw other processes take more than this share of a CPU is run again.
    max_others: f64,
    /// How many disturbed rounds each workload may run again.
    retries: usize,
    /// The two servers compared: A, the subject, and B, the baseline.
    pair: [Generator; 2],
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        seconds: 5.0,
        warmup: 1.0,
        rounds: 4,
        concurrency: 32,
        connections: 4,
        stream_len: 1000,
        collect_len: 100,
        workloads: Workload::ALL.to_vec(),
        pin: true,
        max_others: 0.2,
        retries: 10,
        pair: Generator::ALL,
    };
    fn value<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
        let value = value.ok_or(format!("{flag} needs a value"))?;
        value
            .parse()
            .map_err(|_| format!("{flag}: invalid value `{value}`"))
    }
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--seconds" => options.seconds = value(&flag, args.next())?,
            "--warmup" => options.warmup = value(&flag, args.next())?,
            "--rounds" => options.rounds = value(&flag, args.next())?,
            "--concurrency" => options.concurrency = value(&flag, args.next())?,
            "--connections" => options.connections = value(&flag, args.next())?,
            "--stream-len" => options.stream_len = value(&flag, args.next())?,
            "--collect-len" => options.collect_len = value(&flag, args.next())?,
            "--workloads" => {
                let list: String = value(&flag, args.next())?;
                options.workloads = list
                    .split(',')
                    .map(|name| {
                        Workload::ALL
                            .into_iter()
                            .find(|w| w.name() == name)
                            .ok_or(format!("unknown workload `{name}`"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--no-pin" => options.pin = false,
            "--max-others" => options.max_others = value::<f64>(&flag, args.next())? / 100.0,
            "--retries" => options.retries = value(&flag, args.next())?,
            "--pair" => {
                let list: String = value(&flag, args.next())?;
                let names: Vec<&str> = list.split(',').collect();
                let [a, b] = names[..] else {
                    return Err(format!("--pair takes two names, not `{list}`"));
                };
                let find =
                    |name| Generator::from_name(name).ok_or(format!("unknown server `{name}`"));
                options.pair = [find(a)?, find(b)?];
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    if options.rounds == 0 || options.concurrency == 0 || options.connections == 0 {
        return Err("--rounds, --concurrency and --connections must be at least 1".to_owned());
    }
    Ok(options)
}

/// Restricts this thread, and every thread it starts afterwards, to `cpus`.
#[cfg(target_os = "linux")]
fn pin(cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data, zeroed is its empty set, and CPU_SET stays in bounds for
    // the CPU numbers allowed_cpus reports.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The CPUs this process may run on, in order.
#[cfg(target_os = "linux")]
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: as in `pin`; sched_getaffinity writes at most size_of::<cpu_set_t>() bytes.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

#[cfg(not(target_os = "linux"))]
fn allowed_cpus() -> Vec<usize> {
    Vec::new()
}

#[cfg(not(target_os = "linux"))]
fn pin(_cpus: &[usize]) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "pinning is implemented for Linux only",
    ))
}

/// CPU time (user + system) `pid` has used so far, from /proc; None where there is no /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesized command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    #[cfg(target_os = "linux")]
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    #[cfg(not(target_os = "linux"))]
    let per_second = 100;
    Some(Duration::from_nanos(
        ticks * 1_000_000_000 / per_second.max(1),
    ))
}

/// CPU time all processes have used so far (everything but idle and iowait), from /proc/stat.
fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let busy = ticks.iter().sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    Some(Duration::from_nanos(busy * 1_000_000_000 / clock_ticks()))
}

fn clock_ticks() -> u64 {
    #[cfg(target_os = "linux")]
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[cfg(not(target_os = "linux"))]
    let per_second = 100;
    per_second.max(1) as u64
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// One server process, killed when dropped.
struct ServerProcess {
    generator: Generator,
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(generator: Generator, cpu: Option<usize>) -> ServerProcess {
        let mut command = Command::new(std::env::current_exe().expect("own executable"));
        command.args(["serve", generator.name()]);
        if let Some(cpu) = cpu {
            command.args(["--cpu", &cpu.to_string()]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the server's address");
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{} server did not start: {line:?}", generator.name()));
        ServerProcess {
            generator,
            url: format!("http://{addr}"),
            child,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `grpc-load serve NAME [--cpu N]`: prints `listening ADDR`, then serves until its standard
/// input closes, so a server never outlives a driver that was interrupted.
fn serve(mut args: impl Iterator<Item = String>) {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let name = args.next().unwrap_or_default();
    let generator = Generator::from_name(&name)
        .unwrap_or_else(|| panic!("serve: unknown server `{name}`\n{USAGE}"));
    if let (Some(flag), Some(cpu)) = (args.next(), args.next()) {
        assert_eq!(flag, "--cpu", "{USAGE}");
        pin(&[cpu.parse().expect("--cpu N")]).expect("pin the server");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if generator == Generator::Served {
            let listening = rs_svc_grpc_bench::bind_served()
                .await
                .expect("bind 127.0.0.1");
            println!("listening {}", listening.grpc_addr());
            listening
                .serve_with_shutdown(std::future::pending())
                .await
                .expect("serve");
            return;
        }
        let incoming = tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().unwrap())
            .expect("bind 127.0.0.1")
            .with_nodelay(Some(true));
        println!("listening {}", incoming.local_addr().unwrap());
        rs_svc_grpc_bench::serve(generator, incoming)
            .await
            .expect("serve");
    });
}

/// What one measured run of one workload against one server saw.
#[derive(Debug)]
struct Run {
    /// Messages the server received and sent (unary: calls; stream/collect: streamed messages).
    messages: u64,
    elapsed: Duration,
    /// Latency of every finished call, sorted.
    latencies: Vec<Duration>,
    /// Server process CPU time over the run.
    server_cpu: Option<Duration>,
    /// Driver (this process) CPU time over the run.
    driver_cpu: Option<Duration>,
    /// CPU time every other process on the machine used over the run: a run that competed
    /// with something else shows here.
    others_cpu: Option<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    /// CPU other processes took during the run, as a share of one CPU (0 when unknown).
    fn others_share(&self) -> f64 {
        self.others_cpu
            .map_or(0.0, |cpu| cpu.as_secs_f64() / self.elapsed.as_secs_f64())
    }

    /// Share of one CPU that `cpu` is over the run, as a percentage.
    fn busy(&self, cpu: Option<Duration>) -> String {
        cpu.map_or("-".to_owned(), |cpu| {
            format!(
                "{:.0}%",
                cpu.as_secs_f64() / self.elapsed.as_secs_f64() * 100.0
            )
        })
    }
}

fn request() -> EchoRequest {
    EchoRequest {
        text: "The quick brown fox jumps over the lazy dog".to_owned(),
        id: 1_234_567_890_123,
        values: (0..16).collect(),
    }
}

/// Calls `workload` back to back until `until`; returns the messages moved and every latency.
async fn worker(
    mut client: EchoServiceClient<Channel>,
    workload: Workload,
    options: Options,
    until: Instant,
) -> (u64, Vec<Duration>) {
    let request = request();
    let mut messages = 0;
    let mut latencies = Vec::with_capacity(1 << 14);
    while Instant::now() < until {
        let start = Instant::now();
        let moved = match workload {
            Workload::Unary => {
                client.echo(request.clone()).await.expect("Echo");
                1
            }
            Workload::Stream => {
                let mut stream = client
                    .stream(StreamRequest {
                        template: Some(request.clone()),
                        count: options.stream_len,
                    })
                    .await
                    .expect("Stream")
                    .into_inner();
                let mut received = 0;
                while stream.message().await.expect("Stream message").is_some() {
                    received += 1;
                }
                assert_eq!(received, u64::from(options.stream_len));
                received
            }
            Workload::Collect => {
                let requests = std::iter::repeat_n(request.clone(), options.collect_len);
                let reply = client
                    .collect(tokio_stream::iter(requests))
                    .await
                    .expect("Collect")
                    .into_inner();
                assert_eq!(reply.sequence as usize, options.collect_len);
                options.collect_len as u64
            }
        };
        latencies.push(start.elapsed());
        messages += moved;
    }
    (messages, latencies)
}

/// Loads the server behind `channels` with `workload` for `duration`.
async fn load(
    channels: &[Channel],
    workload: Workload,
    options: &Options,
    duration: Duration,
    pid: u32,
) -> Run {
    let cpu_before = cpu_time(pid);
    let driver_before = cpu_time(std::process::id());
    let machine_before = machine_busy();
    let start = Instant::now();
    let until = start + duration;
    let tasks: Vec<_> = (0..options.concurrency)
        .map(|i| {
            let client = EchoServiceClient::new(channels[i % channels.len()].clone());
            tokio::spawn(worker(client, workload, options.clone(), until))
        })
        .collect();
    let mut run = Run {
        messages: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        server_cpu: None,
        driver_cpu: None,
        others_cpu: None,
    };
    for task in tasks {
        let (messages, latencies) = task.await.expect("load task");
        run.messages += messages;
        run.latencies.extend(latencies);
    }
    run.elapsed = start.elapsed();
    run.server_cpu = cpu_before
        .zip(cpu_time(pid))
        .map(|(before, after)| after.saturating_sub(before));
    run.driver_cpu = driver_before
        .zip(cpu_time(std::process::id()))
        .map(|(before, after)| after.saturating_sub(before));
    run.others_cpu = machine_before
        .zip(machine_busy())
        .zip(run.server_cpu.zip(run.driver_cpu))
        .map(|((before, after), (server, driver))| {
            after.saturating_sub(before).saturating_sub(server + driver)
        });
    run.latencies.sort_unstable();
    run
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn millis(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Per server: all runs of one workload.
struct Summary {
    /// Messages per second of each run, sorted.
    rates: Vec<f64>,
    p50: Duration,
    p99: Duration,
    cpu_per_message: Option<Duration>,
    busy: Option<f64>,
    /// The most CPU other processes took during one run, as a share of one CPU.
    others: Option<f64>,
}

fn summarize(runs: &[Run]) -> Summary {
    let mut rates: Vec<f64> = runs.iter().map(Run::rate).collect();
    rates.sort_by(f64::total_cmp);
    let mut p50s: Vec<f64> = runs
        .iter()
        .map(|r| percentile(&r.latencies, 0.50).as_secs_f64())
        .collect();
    let mut p99s: Vec<f64> = runs
        .iter()
        .map(|r| percentile(&r.latencies, 0.99).as_secs_f64())
        .collect();
    let cpu: Option<Duration> = runs.iter().map(|r| r.server_cpu).sum();
    let messages: u64 = runs.iter().map(|r| r.messages).sum();
    let elapsed: Duration = runs.iter().map(|r| r.elapsed).sum();
    Summary {
        rates,
        p50: Duration::from_secs_f64(median(&mut p50s)),
        p99: Duration::from_secs_f64(median(&mut p99s)),
        cpu_per_message: cpu.map(|c| c.div_f64(messages.max(1) as f64)),
        busy: cpu.map(|c| c.as_secs_f64() / elapsed.as_secs_f64()),
        others: runs
            .iter()
            .map(|r| Some(r.others_cpu?.as_secs_f64() / r.elapsed.as_secs_f64()))
            .collect::<Option<Vec<f64>>>()
            .map(|shares| shares.into_iter().fold(0.0, f64::max)),
    }
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("serve") {
        args.next();
        return serve(args);
    }
    let options = parse(args).unwrap_or_else(|message| {
        eprintln!("{message}");
        std::process::exit(2);
    });

    let cpus = allowed_cpus();
    let server_cpu = (options.pin && cpus.len() >= 2).then(|| cpus[0]);
    let servers: Vec<ServerProcess> = options
        .pair
        .into_iter()
        .map(|g| ServerProcess::start(g, server_cpu))
        .collect();
    let layout = match server_cpu {
        Some(server_cpu) => {
            pin(&cpus[1..]).expect("pin the driver");
            format!(
                "servers on CPU {server_cpu}, driver on CPU(s) {:?}",
                &cpus[1..]
            )
        }
        None => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            format!("{n} CPU(s), unpinned: servers and driver share them")
        }
    };
    println!(
        "grpc-load: {layout}; {} s runs after {} s warm-up, {} round(s) A/B then B/A; \
         {} calls in flight over {} connection(s); stream {} msgs/call, collect {} msgs/call",
        options.seconds,
        options.warmup,
        options.rounds,
        options.concurrency,
        options.connections,
        options.stream_len,
        options.collect_len,
    );
    println!("load average before: {}", load_average());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let results = runtime.block_on(async {
        let mut channels = Vec::new();
        for server in &servers {
            let mut per_server = Vec::new();
            for _ in 0..options.connections {
                let endpoint = Endpoint::from_shared(server.url.clone())
                    .unwrap()
                    .tcp_nodelay(true);
                per_server.push(endpoint.connect().await.expect("connect"));
            }
            channels.push(per_server);
        }
        let mut results = Vec::new();
        for &workload in &options.workloads {
            // runs[i]: every measured run against servers[i].
            let mut runs: Vec<Vec<Run>> = servers.iter().map(|_| Vec::new()).collect();
            let mut round = 0;
            let mut retries = 0;
            while round < options.rounds {
                let mut order: Vec<usize> = (0..servers.len()).collect();
                if round % 2 == 1 {
                    order.reverse();
                }
                let mut pair = Vec::new();
                for i in order {
                    let pid = servers[i].child.id();
                    let warmup = Duration::from_secs_f64(options.warmup);
                    load(&channels[i], workload, &options, warmup, pid).await;
                    let measured = Duration::from_secs_f64(options.seconds);
                    let run = load(&channels[i], workload, &options, measured, pid).await;
                    eprintln!(
                        "  {:<8} round {} {:<14} {:>10.0} msg/s  p50 {} ms  p99 {} ms  \
                         CPU busy: server {} driver {} others {}",
                        workload.name(),
                        round + 1,
                        format!("{} {}", ["A", "B"][i], servers[i].generator.name()),
                        run.rate(),
                        millis(percentile(&run.latencies, 0.50)),
                        millis(percentile(&run.latencies, 0.99)),
                        run.busy(run.server_cpu),
                        run.busy(run.driver_cpu),
                        run.busy(run.others_cpu),
                    );
                    pair.push((i, run));
                }
                // A pair that shared the machine with other work says more about that work.
                let disturbed = pair
                    .iter()
                    .any(|(_, run)| run.others_share() > options.max_others);
                if disturbed && retries < options.retries {
                    retries += 1;
                    eprintln!("  round {} disturbed by other processes: again", round + 1);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                for (i, run) in pair {
                    runs[i].push(run);
                }
                round += 1;
            }
            // Each round's pair ran back to back, so its ratio is the least drift-prone figure.
            let mut ratios: Vec<f64> = runs[0]
                .iter()
                .zip(&runs[1])
                .map(|(ours, plain)| ours.rate() / plain.rate())
                .collect();
            let ratio = median(&mut ratios.clone());
            ratios.sort_by(f64::total_cmp);
            results.push((
                workload,
                summarize(&runs[0]),
                summarize(&runs[1]),
                ratio,
                ratios,
            ));
        }
        results
    });
    println!("load average after: {}", load_average());
    println!();
    let [a, b] = options.pair.map(Generator::name);
    println!(
        "| workload | {a} msg/s (min–max) | {b} msg/s (min–max) | msg/s ratio, median of rounds (range) \
         | p50 ms {a} / {b} | p99 ms {a} / {b} | server CPU µs/msg {a} / {b} (ratio) | server busy \
         | others' CPU, worst run |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let percent =
        |share: Option<f64>| share.map_or("-".to_owned(), |s| format!("{:.0}%", s * 100.0));
    for (workload, ours, plain, ratio, ratios) in results {
        let range = |rates: &[f64]| {
            format!(
                "{:.0} ({:.0}–{:.0})",
                median(&mut rates.to_vec()),
                rates[0],
                rates[rates.len() - 1]
            )
        };
        let cpu = match ours.cpu_per_message.zip(plain.cpu_per_message) {
            Some((a, b)) => format!(
                "{:.3} / {:.3} ({:.3})",
                a.as_secs_f64() * 1e6,
                b.as_secs_f64() * 1e6,
                a.as_secs_f64() / b.as_secs_f64()
            ),
            None => "-".to_owned(),
        };
        println!(
            "| {} | {} | {} | {:.3} ({:.3}–{:.3}) | {} / {} | {} / {} | {} | {} / {} | {} |",
            workload.name(),
            range(&ours.rates),
            range(&plain.rates),
            ratio,
            ratios[0],
            ratios[ratios.len() - 1],
            millis(ours.p50),
            millis(plain.p50),
            millis(ours.p99),
            millis(plain.p99),
            cpu,
            percent(ours.busy),
            percent(plain.busy),
            percent(ours.others.zip(plain.others).map(|(a, b)| a.max(b))),
        );
    }
}
