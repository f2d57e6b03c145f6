//! What the process is and uses: `tollgate_build_info`, and the standard `process_*`
//! metrics read from `/proc/self` at each scrape.
//!
//! Not prometheus' own `ProcessCollector`: it exports `process_cpu_seconds_total` in whole
//! seconds (it divides clock ticks by `CLK_TCK` as integers), so `rate()` over a gateway that
//! uses less than a core is a staircase of zeros and ones. Here CPU time is exact to a tick.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Counter, Gauge, Opts};

/// `tollgate_build_info{version}` = 1, registered in `registry`.
pub fn register_build_info(registry: &prometheus::Registry) -> prometheus::Result<()> {
    let opts = Opts::new("tollgate_build_info", "The running build: 1, labelled with its version.");
    let info = prometheus::IntGaugeVec::new(opts, &["version"])?;
    info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    registry.register(Box::new(info))
}

/// `process_cpu_seconds_total` (fractional), memory, file descriptors, threads, start time.
#[derive(Debug)]
pub struct ProcessMetrics {
    cpu: Counter,
    resident_memory: Gauge,
    virtual_memory: Gauge,
    open_fds: Gauge,
    max_fds: Gauge,
    threads: Gauge,
    start_time: Gauge,
    descs: Vec<Desc>,
}

// === impl ProcessMetrics ===

impl ProcessMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| Gauge::with_opts(Opts::new(name, help));
        let metrics = ProcessMetrics {
            cpu: Counter::with_opts(Opts::new(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
            ))?,
            resident_memory: gauge("process_resident_memory_bytes", "Resident memory size in bytes.")?,
            virtual_memory: gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")?,
            open_fds: gauge("process_open_fds", "Number of open file descriptors.")?,
            max_fds: gauge("process_max_fds", "Maximum number of open file descriptors.")?,
            threads: gauge("process_threads", "Number of OS threads in the process.")?,
            start_time: gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")?,
            descs: Vec::new(),
        };
        let descs = metrics.families().iter().flat_map(|c| c.desc()).cloned().collect();
        Ok(ProcessMetrics { descs, ..metrics })
    }

    fn families(&self) -> [&dyn Collector; 7] {
        [
            &self.cpu,
            &self.resident_memory,
            &self.virtual_memory,
            &self.open_fds,
            &self.max_fds,
            &self.threads,
            &self.start_time,
        ]
    }

    /// Reads `/proc/self`; a value that cannot be read keeps its last one.
    fn refresh(&self) {
        let Ok(process) = procfs::process::Process::myself() else { return };
        if let Ok(stat) = process.stat() {
            let ticks = procfs::ticks_per_second();
            let cpu = cpu_seconds(stat.utime + stat.stime, ticks);
            self.cpu.inc_by((cpu - self.cpu.get()).max(0.0));
            self.virtual_memory.set(stat.vsize as f64);
            self.resident_memory.set(stat.rss as f64 * procfs::page_size() as f64);
            self.threads.set(stat.num_threads as f64);
            if let Ok(boot) = procfs::boot_time_secs() {
                self.start_time.set(boot as f64 + cpu_seconds(stat.starttime, ticks));
            }
        }
        if let Ok(count) = process.fd_count() {
            self.open_fds.set(count as f64);
        }
        if let Ok(limits) = process.limits()
            && let procfs::process::LimitValue::Value(max) = limits.max_open_files.soft_limit
        {
            self.max_fds.set(max as f64);
        }
    }
}

/// Clock ticks as seconds, with their fraction.
fn cpu_seconds(ticks: u64, per_second: u64) -> f64 {
    ticks as f64 / per_second.max(1) as f64
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.refresh();
        self.families().iter().flat_map(|c| c.collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_keep_their_fraction() {
        assert_eq!(cpu_seconds(150, 100), 1.5);
        assert_eq!(cpu_seconds(7, 100), 0.07);
    }

    #[test]
    fn every_family_is_collected_from_proc() {
        let metrics = ProcessMetrics::new().unwrap_or_else(|e| panic!("{e}"));
        let families = metrics.collect();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), 7, "{names:?}");
        let value = |name: &str| families.iter().find(|f| f.name() == name).map(|f| &f.get_metric()[0]);
        let rss = value("process_resident_memory_bytes").map_or(0.0, |m| m.get_gauge().get_value());
        assert!(rss > 0.0, "{rss}");
    }
}
