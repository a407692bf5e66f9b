//! A partition's virtual devices, the port and MMIO maps that reach them, and
//! the interrupt lines from them into the partition's interrupt router.
//!
//! Built once from the partition table. Every port a guest reaches without an
//! exit is on its pass-through list (in the I/O permission map, not here);
//! every other port exits and lands here: a device's range is dispatched to
//! it, and an unassigned port reads as all-ones and ignores writes, like
//! absent hardware on a PC's bus. MMIO outside RAM reaches only the IOAPIC and
//! local APIC windows; anything else is the caller's to refuse.

use alloc::vec::Vec;

use bulkhead_config::{Devices, Protocol};
use bulkhead_core::range_map::RangeMap;
use bulkhead_vdevices::acpi_tables::pm::{AcpiPmBlock, SleepRequest};
use bulkhead_vdevices::acpi_tables::{
    AcpiBlob, AcpiConfig, AcpiTables, DEFAULT_PM_BASE, IOAPIC_ADDRESS, LOCAL_APIC_ADDRESS,
};
use bulkhead_vdevices::debug_exit::{DebugExit, DebugExitPort};
use bulkhead_vdevices::fw_cfg::{FwCfg, FwCfgConfig};
use bulkhead_vdevices::irq::{Router, RouterConfig};
use bulkhead_vdevices::lapic::ApicClock;
use bulkhead_vdevices::pci::PciHost;
use bulkhead_vdevices::pic::PIC_PORT_RANGES;
use bulkhead_vdevices::pit::{Pit, Port61};
use bulkhead_vdevices::rtc::{Rtc, RtcConfig};
use bulkhead_vdevices::uart::Uart;
use bulkhead_vdevices::{Nanos, PortDevice};

const PORT_61: u16 = 0x61;
/// The 8042 keyboard controller's status/command port, only for its reset line.
const KBC_COMMAND: u16 = 0x64;
/// 8042 status with both buffers empty: "ready for a command".
const KBC_STATUS_READY: u8 = 0x00;
/// 8042 command: pulse the CPU reset line (how PCs without an ACPI reset
/// register reboot, and Linux's second choice).
const KBC_PULSE_RESET: u8 = 0xFE;
const PIT_PORTS: (u16, u16) = (0x40, 0x43);
const RTC_PORTS: (u16, u16) = (0x70, 0x71);
const PCI_PORTS: (u16, u16) = (0xCF8, 0xCFF);
const FW_CFG_PORTS: (u16, u16) = (0x510, 0x511);
/// PM1 event (status, enable), PM1 control, PM timer: 12 ports from the base.
const PM_BLOCK_LEN: u16 = 12;
const PIT_IRQ: u8 = 0;
const RTC_IRQ: u8 = 8;
const SCI_IRQ: u8 = 9;
/// Lines into the router: ISA IRQs 0..16 and PCI 16..24.
const LINES: usize = 24;
/// Bytes of each APIC's MMIO window.
const APIC_WINDOW: u64 = 0x1000;
/// Where the guest's ACPI tables go: the BIOS area a guest without a boot
/// protocol pointer scans for the RSDP (ACPI 6.5, 5.2.5.1).
pub const ACPI_TABLES_GPA: u64 = 0xE_0000;

/// Which device a port range belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    Uart(usize),
    Pic,
    Pit,
    Port61,
    Rtc,
    Pci,
    FwCfg,
    PmBlock,
    DebugExit,
    ResetLine,
}

/// One configured UART.
pub struct UartSlot {
    /// The device.
    pub device: Uart,
    /// Its ISA IRQ line.
    pub irq: u8,
    /// Whether it is the partition's console.
    pub console: bool,
}

/// Why the platform could not be built from the table.
#[derive(Clone, Debug)]
pub struct Conflict {
    /// What was being placed.
    pub what: &'static str,
    /// Its first port.
    pub port: u64,
}

/// What the partition is, as far as its devices care.
pub struct Shape<'a> {
    /// The table's device list.
    pub devices: &'a Devices,
    /// How it boots (real-mode guests get no ACPI tables: their firmware brings its own).
    pub protocol: Protocol,
    /// RAM below and above 4 GiB, for CMOS and fw_cfg.
    pub ram_below_4g: u64,
    /// RAM above 4 GiB.
    pub ram_above_4g: u64,
    /// The guest's TSC rate, for the local APIC's TSC-deadline mode.
    pub tsc_hz: u64,
    /// Wall-clock seconds since 1970 at boot, for the RTC.
    pub epoch_seconds: u64,
}

/// The devices of one partition.
pub struct Platform {
    ports: RangeMap<Port>,
    /// UARTs in table order.
    pub uarts: Vec<UartSlot>,
    /// The interrupt controllers.
    pub router: Router,
    pit: Option<Pit>,
    rtc: Option<Rtc>,
    pci: Option<PciHost>,
    fw_cfg: Option<FwCfg>,
    pm: Option<AcpiPmBlock>,
    debug_exit: Option<DebugExitPort>,
    reset_requested: bool,
    /// The guest's ACPI tables, if it gets any.
    pub acpi: Option<AcpiBlob>,
    lines: [bool; LINES],
}

/// Virtual local APIC timer input: 1 GHz, as QEMU and KVM model it.
const APIC_TIMER_HZ: u64 = 1_000_000_000;

impl Platform {
    /// The devices the partition table asks for.
    pub fn new(shape: &Shape<'_>) -> Result<Self, Conflict> {
        let devices = shape.devices;
        let mut ports = RangeMap::default();
        let mut add = |first: u16, last: u16, port: Port, what: &'static str| {
            ports
                .insert(first.into(), last.into(), port)
                .map_err(|_| Conflict {
                    what,
                    port: first.into(),
                })
        };
        let mut uarts = Vec::new();
        for (index, uart) in devices.uarts.iter().enumerate() {
            let range = uart.ports();
            add(range.start, range.end, Port::Uart(index), "uart")?;
            uarts.push(UartSlot {
                device: Uart::new(),
                irq: uart.irq,
                console: uart.console,
            });
        }
        if devices.pic {
            for (first, last) in PIC_PORT_RANGES {
                add(first, last, Port::Pic, "pic")?;
            }
        }
        let pit = if devices.pit {
            add(PIT_PORTS.0, PIT_PORTS.1, Port::Pit, "pit")?;
            add(PORT_61, PORT_61, Port::Port61, "pit (port 0x61)")?;
            Some(Pit::new())
        } else {
            None
        };
        let rtc = if devices.rtc {
            add(RTC_PORTS.0, RTC_PORTS.1, Port::Rtc, "rtc")?;
            let config = RtcConfig {
                ram_below_4g: shape.ram_below_4g,
                ram_above_4g: shape.ram_above_4g,
                cpus: 1,
            };
            Some(Rtc::new(shape.epoch_seconds, &config))
        } else {
            None
        };
        let pci = if devices.pci {
            add(PCI_PORTS.0, PCI_PORTS.1, Port::Pci, "pci host bridge")?;
            Some(PciHost::new())
        } else {
            None
        };
        let fw_cfg = if devices.fw_cfg {
            add(FW_CFG_PORTS.0, FW_CFG_PORTS.1, Port::FwCfg, "fw_cfg")?;
            Some(FwCfg::new(FwCfgConfig {
                cpus: 1,
                max_cpus: 1,
                ram_bytes: shape.ram_below_4g + shape.ram_above_4g,
            }))
        } else {
            None
        };
        let wants_acpi = (devices.ioapic || devices.lapic) && shape.protocol != Protocol::RealMode;
        let (pm, acpi) = if wants_acpi {
            add(
                DEFAULT_PM_BASE,
                DEFAULT_PM_BASE + PM_BLOCK_LEN - 1,
                Port::PmBlock,
                "ACPI PM block",
            )?;
            let config = AcpiConfig {
                cpus: 1,
                ioapic: devices.ioapic,
                ioapic_id: 0,
                pic: devices.pic,
                rtc: devices.rtc,
                pm_base: DEFAULT_PM_BASE,
                pm_timer_32bit: true,
            };
            (
                Some(AcpiPmBlock::new(true)),
                Some(AcpiTables::build(config, ACPI_TABLES_GPA)),
            )
        } else {
            (None, None)
        };
        let debug_exit = match devices.debug_exit {
            Some(exit) => {
                let range = exit.ports();
                add(range.start, range.end, Port::DebugExit, "debug-exit")?;
                DebugExitPort::new(exit.size).ok()
            }
            None => None,
        };
        // A PC-style platform (with a PIC) has the 8042's reset line; there is
        // no keyboard behind it.
        if devices.pic {
            add(KBC_COMMAND, KBC_COMMAND, Port::ResetLine, "8042 reset line")?;
        }
        let router = Router::new(RouterConfig {
            pic: devices.pic,
            ioapic: devices.ioapic,
            lapic_count: u8::from(devices.lapic),
            apic_clock: ApicClock {
                timer_hz: APIC_TIMER_HZ,
                tsc_hz: shape.tsc_hz,
            },
        });
        Ok(Self {
            ports,
            uarts,
            router,
            pit,
            rtc,
            pci,
            fw_cfg,
            pm,
            debug_exit,
            reset_requested: false,
            acpi,
            lines: [false; LINES],
        })
    }

    fn device(&mut self, port: u16) -> Option<(u16, Port)> {
        self.ports
            .get(port.into())
            .map(|(base, device)| (port - base as u16, *device))
    }

    /// A guest `in`.
    pub fn port_read(&mut self, port: u16, size: u8, now: Nanos) -> u32 {
        let Some((offset, device)) = self.device(port) else {
            return all_ones(size);
        };
        let value = match device {
            Port::Uart(i) => Some(self.uarts[i].device.port_read(offset, size, now)),
            Port::Pic => Some(self.router.pic_port_read(port, size)),
            Port::Pit => self.pit.as_mut().map(|p| p.port_read(offset, size, now)),
            Port::Port61 => self
                .pit
                .as_mut()
                .map(|p| Port61(p).port_read(offset, size, now)),
            Port::Rtc => self.rtc.as_mut().map(|d| d.port_read(offset, size, now)),
            Port::Pci => self.pci.as_mut().map(|d| d.port_read(offset, size, now)),
            Port::FwCfg => self.fw_cfg.as_mut().map(|d| d.port_read(offset, size, now)),
            Port::PmBlock => self.pm.as_mut().map(|d| d.port_read(offset, size, now)),
            Port::DebugExit => self
                .debug_exit
                .as_mut()
                .map(|d| d.port_read(offset, size, now)),
            Port::ResetLine => Some(u32::from(KBC_STATUS_READY)),
        };
        value.unwrap_or(all_ones(size))
    }

    /// A guest `out`.
    pub fn port_write(&mut self, port: u16, size: u8, value: u32, now: Nanos) {
        let Some((offset, device)) = self.device(port) else {
            return;
        };
        match device {
            Port::Uart(i) => self.uarts[i].device.port_write(offset, size, value, now),
            Port::Pic => self.router.pic_port_write(port, size, value),
            Port::Pit => {
                if let Some(d) = self.pit.as_mut() {
                    d.port_write(offset, size, value, now);
                }
            }
            Port::Port61 => {
                if let Some(d) = self.pit.as_mut() {
                    Port61(d).port_write(offset, size, value, now);
                }
            }
            Port::Rtc => {
                if let Some(d) = self.rtc.as_mut() {
                    d.port_write(offset, size, value, now);
                }
            }
            Port::Pci => {
                if let Some(d) = self.pci.as_mut() {
                    d.port_write(offset, size, value, now);
                }
            }
            Port::FwCfg => {
                if let Some(d) = self.fw_cfg.as_mut() {
                    d.port_write(offset, size, value, now);
                }
            }
            Port::PmBlock => {
                if let Some(d) = self.pm.as_mut() {
                    d.port_write(offset, size, value, now);
                }
            }
            Port::DebugExit => {
                if let Some(d) = self.debug_exit.as_mut() {
                    d.port_write(offset, size, value, now);
                }
            }
            Port::ResetLine => {
                if value as u8 == KBC_PULSE_RESET {
                    self.reset_requested = true;
                }
            }
        }
    }

    /// The guest pulsed the reset line (8042 command 0xFE).
    pub fn take_reset_request(&mut self) -> bool {
        core::mem::take(&mut self.reset_requested)
    }

    /// Whether `gpa` falls in an emulated MMIO window.
    pub fn is_mmio(&self, gpa: u64) -> bool {
        self.mmio_window(gpa).is_some()
    }

    fn mmio_window(&self, gpa: u64) -> Option<(bool, u64)> {
        let ioapic = u64::from(IOAPIC_ADDRESS);
        let lapic = u64::from(LOCAL_APIC_ADDRESS);
        if self.router.ioapic().is_some() && (ioapic..ioapic + APIC_WINDOW).contains(&gpa) {
            Some((true, gpa - ioapic))
        } else if self.router.lapic(0).is_some() && (lapic..lapic + APIC_WINDOW).contains(&gpa) {
            Some((false, gpa - lapic))
        } else {
            None
        }
    }

    /// A guest load from an MMIO window; `None` if `gpa` is in none.
    pub fn mmio_read(&mut self, gpa: u64, size: u8, now: Nanos) -> Option<u64> {
        let (ioapic, offset) = self.mmio_window(gpa)?;
        Some(if ioapic {
            self.router.ioapic_mmio_read(offset, size, now)
        } else {
            self.router.lapic_mmio_read(0, offset, size, now)
        })
    }

    /// A guest store to an MMIO window; false if `gpa` is in none.
    pub fn mmio_write(&mut self, gpa: u64, size: u8, value: u64, now: Nanos) -> bool {
        let Some((ioapic, offset)) = self.mmio_window(gpa) else {
            return false;
        };
        if ioapic {
            self.router.ioapic_mmio_write(offset, size, value, now);
        } else {
            self.router.lapic_mmio_write(0, offset, size, value, now);
        }
        true
    }

    /// Brings every device up to `now` and carries its interrupt output into the router.
    pub fn update_lines(&mut self, now: Nanos) {
        let mut levels = [false; LINES];
        for slot in &mut self.uarts {
            slot.device.advance(now);
            if let Some(level) = levels.get_mut(usize::from(slot.irq)) {
                *level |= slot.device.irq_level();
            }
        }
        if let Some(rtc) = self.rtc.as_mut() {
            rtc.advance(now);
            levels[usize::from(RTC_IRQ)] |= rtc.irq_level();
        }
        if let Some(pm) = self.pm.as_mut() {
            pm.advance(now);
            levels[usize::from(SCI_IRQ)] |= pm.sci_level();
        }
        for (line, (&level, seen)) in levels.iter().zip(self.lines.iter_mut()).enumerate() {
            if level != *seen && line != usize::from(PIT_IRQ) {
                self.router.set_irq(line as u8, level);
                *seen = level;
            }
        }
        if self.pit.as_mut().is_some_and(|pit| pit.irq0_edges(now) > 0) {
            self.router.pulse_irq(PIT_IRQ);
        }
        self.router.sync();
    }

    /// The guest asked, through the debug-exit port, to end.
    pub fn take_exit_request(&mut self) -> Option<DebugExit> {
        self.debug_exit.as_mut().and_then(DebugExitPort::take_exit)
    }

    /// The guest asked ACPI for S5 (soft off).
    pub fn take_power_off_request(&mut self) -> bool {
        self.pm
            .as_mut()
            .and_then(AcpiPmBlock::take_sleep_request)
            .is_some_and(|request| request == SleepRequest::SoftOff)
    }

    /// The earliest time a device has something to do: a halted vCPU must be woken by then.
    pub fn next_deadline(&self) -> Option<Nanos> {
        let uarts = self
            .uarts
            .iter()
            .filter_map(|u| u.device.next_event_deadline());
        let pit = self.pit.as_ref().and_then(Pit::next_irq0_deadline);
        let rtc = self.rtc.as_ref().and_then(Rtc::next_event_deadline);
        let pm = self.pm.as_ref().and_then(AcpiPmBlock::next_event_deadline);
        let apic = self.router.next_timer_deadline(0);
        uarts.chain(pit).chain(rtc).chain(pm).chain(apic).min()
    }
}

fn all_ones(size: u8) -> u32 {
    match size {
        1 => 0xFF,
        2 => 0xFFFF,
        _ => 0xFFFF_FFFF,
    }
}
