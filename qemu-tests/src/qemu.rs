//! The QEMU command line: a builder that knows which options every test needs.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use crate::error::HarnessError;
use crate::machine::Machine;

/// The CPU every machine gets unless a test asks for another.
///
/// `qemu64` is an AMD-vendor model, so a hypervisor that chooses its backend by CPUID
/// picks SVM, and it already has SVM in CPUID 8000_0001h:ECX; `+npt` adds nested paging
/// (CPUID 8000_000Ah:EDX bit 0), which TCG emulates but `qemu64` leaves off. TCG
/// implements every feature of this model, so QEMU starts without warnings. `EPYC` also
/// works but makes TCG print nine "doesn't support requested feature" warnings (nrip-save
/// among them) and silently drop those features, and `max` depends on the QEMU version.
pub const DEFAULT_CPU: &str = "qemu64,+svm,+npt";

/// Guest RAM unless a test asks for more.
pub const DEFAULT_MEMORY_MIB: u32 = 256;

/// Environment variable naming the QEMU binary; `qemu-system-x86_64` from `PATH` if unset.
pub const QEMU_ENV: &str = "BULKHEAD_QEMU";

/// I/O port of the `isa-debug-exit` device added by [`Qemu::debug_exit`].
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// The network card a PXE boot uses. Both carry an iPXE option ROM in Debian's
/// `ipxe-qemu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nic {
    /// `virtio-net-pci` (transitional: legacy and modern interfaces).
    VirtioNet,
    /// `e1000`, the Intel 82540EM.
    E1000,
}

impl Nic {
    /// QEMU's device name.
    fn device(self) -> &'static str {
        match self {
            Nic::VirtioNet => "virtio-net-pci",
            Nic::E1000 => "e1000",
        }
    }
}

/// How the machine gets its kernel.
#[derive(Debug, Clone)]
enum Boot {
    /// QEMU loads a Multiboot kernel itself (`-kernel`).
    Kernel(PathBuf),
    /// The NIC's iPXE ROM fetches `bootfile` from `tftp_dir` over QEMU's user network.
    Pxe {
        tftp_dir: PathBuf,
        bootfile: String,
        nic: Nic,
    },
}

/// A QEMU machine to be started: `-machine pc` under TCG, COM1 on stdout, no display,
/// no monitor, no default devices, and `-no-reboot` so that a reset or triple fault ends
/// QEMU instead of booting again.
#[derive(Debug, Clone)]
#[must_use = "a Qemu does nothing until start() is called"]
pub struct Qemu {
    boot: Boot,
    smp: u32,
    memory_mib: u32,
    cpu: String,
    append: Option<String>,
    extra: Vec<String>,
    /// With `-kernel`: a NIC on QEMU's user network, and UDP ports forwarded
    /// from the host's loopback to the guest.
    network: Option<(Nic, Vec<(u16, u16)>)>,
}

impl Qemu {
    fn new(boot: Boot) -> Qemu {
        Qemu {
            boot,
            smp: 1,
            memory_mib: DEFAULT_MEMORY_MIB,
            cpu: DEFAULT_CPU.to_owned(),
            append: None,
            extra: Vec::new(),
            network: None,
        }
    }

    /// Boots `image` as a Multiboot kernel with QEMU's `-kernel`, with no network card.
    pub fn kernel(image: impl AsRef<Path>) -> Qemu {
        Qemu::new(Boot::Kernel(image.as_ref().to_owned()))
    }

    /// Boots from the network: the `nic`'s iPXE ROM gets an address from QEMU's user
    /// network (with `restrict=on`, so no packet leaves the host) and fetches `bootfile`
    /// from its TFTP server, which serves `tftp_dir`.
    pub fn pxe(tftp_dir: impl AsRef<Path>, bootfile: &str, nic: Nic) -> Qemu {
        Qemu::new(Boot::Pxe {
            tftp_dir: tftp_dir.as_ref().to_owned(),
            bootfile: bootfile.to_owned(),
            nic,
        })
    }

    /// Number of vCPUs (`-smp`); 1 unless set.
    pub fn smp(mut self, n: u32) -> Self {
        self.smp = n;
        self
    }

    /// Guest RAM in MiB (`-m`); [`DEFAULT_MEMORY_MIB`] unless set.
    pub fn memory_mib(mut self, mib: u32) -> Self {
        self.memory_mib = mib;
        self
    }

    /// CPU model and features (`-cpu`); [`DEFAULT_CPU`] unless set.
    pub fn cpu(mut self, model: &str) -> Self {
        self.cpu = model.to_owned();
        self
    }

    /// The kernel's command line (the Multiboot `cmdline`).
    ///
    /// With `-kernel` this is QEMU's `-append`. For a PXE boot, QEMU cannot pass one, so
    /// the harness serves a small iPXE script as the boot file instead, which loads the
    /// image with `kernel <bootfile> <cmdline>` and boots it. In both cases the kernel
    /// sees `<image name> <cmdline>`, as the Multiboot loaders put the name first.
    pub fn append(mut self, cmdline: &str) -> Self {
        self.append = Some(cmdline.to_owned());
        self
    }

    /// Gives a `-kernel` machine a `nic` on QEMU's user network (DHCP answers with
    /// 10.0.2.15, gateway 10.0.2.2). Without forwards the network is `restrict=on`.
    /// With forwards it cannot be: QEMU then drops the guest's UDP answers to the
    /// forwarded host port. The hypervisor only ever answers datagrams it received,
    /// and those come from 127.0.0.1 through the forward, so nothing leaves the host.
    pub fn network(mut self, nic: Nic) -> Self {
        self.network.get_or_insert((nic, Vec::new())).0 = nic;
        self
    }

    /// Forwards UDP `host_port` on 127.0.0.1 to `guest_port` on the guest's
    /// address (with [`Self::network`]).
    pub fn forward_udp(mut self, host_port: u16, guest_port: u16) -> Self {
        self.network
            .get_or_insert((Nic::VirtioNet, Vec::new()))
            .1
            .push((host_port, guest_port));
        self
    }

    /// Adds one raw argument to QEMU's command line, after all the others.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra.push(arg.to_owned());
        self
    }

    /// Adds QEMU's `isa-debug-exit` device at port [`DEBUG_EXIT_PORT`]: a byte `v` written
    /// there ends QEMU with exit code `2 * v + 1`; [`debug_exit_code`] recovers `v`.
    pub fn debug_exit(self) -> Self {
        self.arg("-device").arg(&format!(
            "isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04"
        ))
    }

    /// Starts QEMU.
    pub fn start(self) -> Result<Machine, HarnessError> {
        let run_dir = tempfile::Builder::new()
            .prefix("bulkhead-qemu-")
            .tempdir()
            .map_err(|source| HarnessError::Io {
                what: "cannot create a temporary directory for QEMU".to_owned(),
                source,
            })?;
        let qmp_socket = run_dir.path().join("qmp.sock");
        let args = self.args(run_dir.path(), &qmp_socket)?;
        let program = env::var_os(QEMU_ENV).unwrap_or_else(|| "qemu-system-x86_64".into());
        Machine::spawn(program, args, self.smp, run_dir, qmp_socket)
    }

    /// The whole argument list; may write an iPXE script into `run_dir`.
    fn args(&self, run_dir: &Path, qmp_socket: &Path) -> Result<Vec<OsString>, HarnessError> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |parts: &[&str]| args.extend(parts.iter().map(OsString::from));
        push(&["-accel", "tcg", "-machine", "pc"]);
        push(&["-cpu", &self.cpu]);
        push(&["-smp", &self.smp.to_string()]);
        push(&["-m", &self.memory_mib.to_string()]);
        // -nodefaults drops the VGA card, the default NIC, floppy, CD-ROM and parallel
        // port; SeaBIOS and iPXE boot without a display. COM1 is the only console.
        push(&["-nodefaults", "-display", "none", "-monitor", "none"]);
        push(&["-serial", "stdio", "-no-reboot"]);
        let qmp = format!("unix:{},server=on,wait=off", option_value(qmp_socket));
        push(&["-qmp", &qmp]);
        match &self.boot {
            Boot::Kernel(image) => {
                args.extend(["-kernel".into(), image.as_os_str().to_owned()]);
                if let Some(cmdline) = &self.append {
                    args.extend(["-append".into(), cmdline.into()]);
                }
                match &self.network {
                    None => args.extend(["-nic".into(), "none".into()]),
                    Some((nic, forwards)) => {
                        let mut netdev = if forwards.is_empty() {
                            "user,id=n0,restrict=on".to_owned()
                        } else {
                            "user,id=n0".to_owned()
                        };
                        for (host, guest) in forwards {
                            netdev.push_str(&format!(",hostfwd=udp:127.0.0.1:{host}-:{guest}"));
                        }
                        let device = format!("{},netdev=n0", nic.device());
                        args.extend(["-netdev", &netdev, "-device", &device].map(OsString::from));
                    }
                }
            }
            Boot::Pxe {
                tftp_dir,
                bootfile,
                nic,
            } => {
                let (tftp_dir, bootfile) = match &self.append {
                    None => (tftp_dir.clone(), bootfile.clone()),
                    Some(cmdline) => ipxe_script(run_dir, tftp_dir, bootfile, cmdline)?,
                };
                let netdev = format!(
                    "user,id=n0,restrict=on,tftp={},bootfile={}",
                    option_value(&tftp_dir),
                    bootfile.replace(',', ",,")
                );
                let device = format!("{},netdev=n0", nic.device());
                args.extend(
                    ["-netdev", &netdev, "-device", &device, "-boot", "n"].map(OsString::from),
                );
            }
        }
        args.extend(self.extra.iter().map(OsString::from));
        Ok(args)
    }
}

/// Builds a TFTP root in `run_dir` that holds the boot file (a symbolic link to the
/// original) and an iPXE script that boots it with `cmdline`; returns the root and the
/// script's name.
fn ipxe_script(
    run_dir: &Path,
    tftp_dir: &Path,
    bootfile: &str,
    cmdline: &str,
) -> Result<(PathBuf, String), HarnessError> {
    let setup = |what: String| move |source| HarnessError::Io { what, source };
    let root = run_dir.join("tftp");
    fs::create_dir(&root).map_err(setup(format!("cannot create {}", root.display())))?;
    let original = tftp_dir.join(bootfile);
    let original = original.canonicalize().map_err(setup(format!(
        "cannot find boot file {}",
        original.display()
    )))?;
    symlink(&original, root.join(bootfile)).map_err(setup(format!(
        "cannot link boot file {}",
        original.display()
    )))?;
    let script_name = "boot.ipxe";
    // The relative name resolves against the script's own tftp:// URI.
    let script = format!("#!ipxe\nkernel {bootfile} {cmdline}\nboot\n");
    fs::write(root.join(script_name), script)
        .map_err(setup(format!("cannot write {script_name}")))?;
    Ok((root, script_name.to_owned()))
}

/// A path as the value of a QEMU `key=value,...` option, where a literal comma is
/// written twice.
fn option_value(path: &Path) -> String {
    path.to_string_lossy().replace(',', ",,")
}

/// The byte a guest wrote to the `isa-debug-exit` port, recovered from QEMU's exit status
/// (`2 * byte + 1`, truncated to 8 bits by the OS, so only bytes up to 127 survive).
///
/// `None` for an even exit code: QEMU ended some other way (0 after a shutdown or, with
/// `-no-reboot`, a reset or triple fault). Exit code 1 is ambiguous — a written 0 or a
/// QEMU error — so guests should report with values from 1 up.
pub fn debug_exit_code(status: ExitStatus) -> Option<u8> {
    let code = status.code()?;
    (code % 2 == 1).then(|| u8::try_from(code >> 1).unwrap_or(u8::MAX))
}
