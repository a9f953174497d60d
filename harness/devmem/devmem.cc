// The native half of the /dev/mem bridge: maps a window of /dev/mem (or a UIO node, a PCI
// resourceN file, any file) and performs each register access as exactly one load or store of the
// requested width. Everything is checked before memory is touched; a SIGBUS during an access (a
// file truncated under its mapping, a bus error from the interconnect) becomes a JavaScript error.
//
// JavaScript side: harness/devmem/native.ts (loading) and harness/devmem/devmem.ts (messages).
// Built by node-gyp from harness/devmem/binding.gyp through scripts/build-bridge.mjs.

#include <napi.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmath>
#include <mutex>
#include <string>

#if !defined(F_OFD_SETLK)
#error "open file description locks (F_OFD_SETLK, Linux 3.15) are needed for the window locks"
#endif

namespace {

// open() flags bit for bit as harness/devmem/native.ts passes them.
constexpr uint32_t OPEN_LOCK = 1;

// Offsets and sizes travel as JavaScript numbers: integers are exact up to 2^53.
constexpr double MAX_SAFE_INTEGER = 9007199254740991.0;

// ---------------------------------------------------------------------------------------------
// One access, one instruction.
//
// On Arm the access is written in assembly, as Linux does in __raw_readl/__raw_writel: a plain
// register-indirect LDR/STR with no write-back, which a hypervisor that traps the access (a board
// under KVM) can decode, and which the compiler can neither split nor merge. Elsewhere a volatile
// access of the type's natural width compiles to one load or store (x86-64: MOVZX/MOV).

#if defined(__aarch64__)
inline uint32_t load8(const volatile void* p) { uint32_t v; asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(p) : "memory"); return v; }
inline uint32_t load16(const volatile void* p) { uint32_t v; asm volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(p) : "memory"); return v; }
inline uint32_t load32(const volatile void* p) { uint32_t v; asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(p) : "memory"); return v; }
inline void store8(volatile void* p, uint32_t v) { asm volatile("strb %w0, [%1]" : : "rZ"(v), "r"(p) : "memory"); }
inline void store16(volatile void* p, uint32_t v) { asm volatile("strh %w0, [%1]" : : "rZ"(v), "r"(p) : "memory"); }
inline void store32(volatile void* p, uint32_t v) { asm volatile("str %w0, [%1]" : : "rZ"(v), "r"(p) : "memory"); }
#elif defined(__arm__)
inline uint32_t load8(const volatile void* p) { uint32_t v; asm volatile("ldrb %0, [%1]" : "=r"(v) : "r"(p) : "memory"); return v; }
inline uint32_t load16(const volatile void* p) { uint32_t v; asm volatile("ldrh %0, [%1]" : "=r"(v) : "r"(p) : "memory"); return v; }
inline uint32_t load32(const volatile void* p) { uint32_t v; asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(p) : "memory"); return v; }
inline void store8(volatile void* p, uint32_t v) { asm volatile("strb %0, [%1]" : : "r"(v), "r"(p) : "memory"); }
inline void store16(volatile void* p, uint32_t v) { asm volatile("strh %0, [%1]" : : "r"(v), "r"(p) : "memory"); }
inline void store32(volatile void* p, uint32_t v) { asm volatile("str %0, [%1]" : : "r"(v), "r"(p) : "memory"); }
#else
inline uint32_t load8(const volatile void* p) { return *static_cast<const volatile uint8_t*>(p); }
inline uint32_t load16(const volatile void* p) { return *static_cast<const volatile uint16_t*>(p); }
inline uint32_t load32(const volatile void* p) { return *static_cast<const volatile uint32_t*>(p); }
inline void store8(volatile void* p, uint32_t v) { *static_cast<volatile uint8_t*>(p) = static_cast<uint8_t>(v); }
inline void store16(volatile void* p, uint32_t v) { *static_cast<volatile uint16_t*>(p) = static_cast<uint16_t>(v); }
inline void store32(volatile void* p, uint32_t v) { *static_cast<volatile uint32_t*>(p) = v; }
#endif

// ---------------------------------------------------------------------------------------------
// The CPU's own barriers for the ABI's barrier(kind): 0 = DMB, 1 = DSB, 2 = ISB.
//
// The full-system forms (SY): the bridge cannot know which shareability domain a peripheral or a
// DMA master sits in. x86-64 has no weaker device ordering to strengthen: MFENCE orders every
// load and store before it against every one after, and the ISB of an x86 host would only matter
// to code modification, which a register access never is. Other CPUs get the compiler's full
// fence.

#if defined(__aarch64__)
const char* const BARRIER_INSTRUCTIONS[3] = {"dmb sy", "dsb sy", "isb"};
inline void cpuBarrier(uint32_t kind) {
  if (kind == 0) asm volatile("dmb sy" : : : "memory");
  else if (kind == 1) asm volatile("dsb sy" : : : "memory");
  else asm volatile("isb" : : : "memory");
}
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
const char* const BARRIER_INSTRUCTIONS[3] = {"dmb sy", "dsb sy", "isb sy"};
inline void cpuBarrier(uint32_t kind) {
  if (kind == 0) asm volatile("dmb sy" : : : "memory");
  else if (kind == 1) asm volatile("dsb sy" : : : "memory");
  else asm volatile("isb sy" : : : "memory");
}
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
// ARMv6 (the first Raspberry Pi, Pi Zero) has the barriers as CP15 operations, not instructions
// (ARM ARM v6, B6.6.5: c7, c10, 5 = DMB; c7, c10, 4 = DSB; c7, c5, 4 = flush prefetch buffer).
const char* const BARRIER_INSTRUCTIONS[3] = {"mcr p15 c7 c10 5", "mcr p15 c7 c10 4", "mcr p15 c7 c5 4"};
inline void cpuBarrier(uint32_t kind) {
  const uint32_t zero = 0;
  if (kind == 0) asm volatile("mcr p15, 0, %0, c7, c10, 5" : : "r"(zero) : "memory");
  else if (kind == 1) asm volatile("mcr p15, 0, %0, c7, c10, 4" : : "r"(zero) : "memory");
  else asm volatile("mcr p15, 0, %0, c7, c5, 4" : : "r"(zero) : "memory");
}
#elif defined(__x86_64__)
const char* const BARRIER_INSTRUCTIONS[3] = {"mfence", "mfence", "mfence"};
inline void cpuBarrier(uint32_t) { asm volatile("mfence" : : : "memory"); }
#else
const char* const BARRIER_INSTRUCTIONS[3] = {"full fence", "full fence", "full fence"};
inline void cpuBarrier(uint32_t) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif

// ---------------------------------------------------------------------------------------------
// SIGBUS guard. An access sets `activeGuard` to a jump buffer for the time of its one instruction;
// the handler jumps back there instead of letting the process die. A SIGBUS anywhere else goes
// to whatever handled it before the bridge was loaded (by default: the process ends).

// initial-exec: the variable sits in the static TLS block, so the handler reaches it with one
// load, without __tls_get_addr (which may allocate, and is no function to call in a handler on a
// thread that never touched it). 8 bytes fit the room glibc keeps for libraries loaded later;
// were it full, loading the addon would fail with a clear message rather than misbehave.
__attribute__((tls_model("initial-exec"))) thread_local sigjmp_buf* volatile activeGuard = nullptr;
struct sigaction previousBusAction;
std::once_flag installOnce;

void onSigbus(int signal, siginfo_t* info, void* context) {
  sigjmp_buf* guard = activeGuard;
  if (guard != nullptr) {
    activeGuard = nullptr;
    // SA_NODEFER left SIGBUS unblocked, so the jump needs no signal mask restored.
    siglongjmp(*guard, 1);
  }
  if ((previousBusAction.sa_flags & SA_SIGINFO) != 0 && previousBusAction.sa_sigaction != nullptr) {
    previousBusAction.sa_sigaction(signal, info, context);
    return;
  }
  if (previousBusAction.sa_handler != SIG_DFL && previousBusAction.sa_handler != SIG_IGN) {
    previousBusAction.sa_handler(signal);
    return;
  }
  // Not an access of ours and nobody else's: die of it as if the bridge were not there.
  ::signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

void installSigbusHandler() {
  std::call_once(installOnce, [] {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = onSigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previousBusAction);
  });
}

// The guarded accesses. Nothing here is touched after sigsetjmp returns a second time but the
// return value, so no local needs to be volatile; noinline keeps the jump buffer's frame alive.
__attribute__((noinline)) bool guardedLoad(volatile uint8_t* p, uint32_t width, uint32_t* out) {
  sigjmp_buf jump;
  if (sigsetjmp(jump, 0) != 0) return false;
  activeGuard = &jump;
  uint32_t value = width == 4 ? load32(p) : width == 2 ? load16(p) : load8(p);
  activeGuard = nullptr;
  *out = value;
  return true;
}

__attribute__((noinline)) bool guardedStore(volatile uint8_t* p, uint32_t width, uint32_t value) {
  sigjmp_buf jump;
  if (sigsetjmp(jump, 0) != 0) return false;
  activeGuard = &jump;
  if (width == 4) store32(p, value);
  else if (width == 2) store16(p, value);
  else store8(p, value);
  activeGuard = nullptr;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Errors. Every error carries `code`; system-call failures also carry `errno` and `syscall`, and
// harness/devmem/devmem.ts turns them into messages that say what is missing.

std::string hex(uint64_t value) {
  char text[24];
  snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Error systemError(Napi::Env env, int err, const char* syscall, const std::string& path, uint64_t offset) {
  Napi::Error error = makeError(env, "ERR_DEVMEM_SYSCALL",
                                std::string(syscall) + " " + path + " (window at " + hex(offset) + "): " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

// A JavaScript number that must be an integer in [0, limit].
bool integerArg(const Napi::CallbackInfo& info, size_t i, double limit, double* out) {
  if (i >= info.Length() || !info[i].IsNumber()) return false;
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!(value >= 0 && value <= limit) || std::floor(value) != value) return false;
  *out = value;
  return true;
}

// ---------------------------------------------------------------------------------------------
// A mapped window.
//
// The window object handed to JavaScript is a plain object of three functions (read, write,
// close) that carry the Window as their callback data. read and write are plain Node-API
// callbacks: one access costs a call and two number conversions, with no object unwrapping (about
// a third of the time of a wrapped method). The Window is freed once all three functions have
// been collected; the mapping and the file are released at close() or then, whichever is first.

struct Window {
  std::string path;
  uint64_t fileOffset = 0;
  uint32_t size = 0;
  int fd = -1;
  void* map = nullptr;
  size_t mapLength = 0;
  volatile uint8_t* base = nullptr;
  int references = 0;

  // Unmaps and closes the file; closing it also drops the window's lock.
  void Release() {
    if (map != nullptr) munmap(map, mapLength);
    if (fd >= 0) close(fd);
    map = nullptr;
    base = nullptr;
    fd = -1;
  }

  // Where an access went, for messages: the file offset, which for /dev/mem is the physical address.
  std::string Where(const char* what, double offset, uint32_t width) const {
    return path + ": " + what + " of " + std::to_string(width) + " byte" + (width == 1 ? "" : "s") + " at " +
           hex(fileOffset + static_cast<uint64_t>(offset)) + " (window " + hex(fileOffset) + ".." + hex(fileOffset + size - 1) + ")";
  }
};

void Unreference(napi_env, void* data, void*) {
  Window* window = static_cast<Window*>(data);
  if (--window->references == 0) {
    window->Release();
    delete window;
  }
}

// The arguments of read (2) or write (3) as numbers; false with a pending exception otherwise.
bool Arguments(napi_env env, napi_callback_info info, size_t expected, const char* usage, double* args, Window** window) {
  size_t count = 3;
  napi_value values[3];
  void* data;
  napi_get_cb_info(env, info, &count, values, nullptr, &data);
  *window = static_cast<Window*>(data);
  if (count != expected) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return false;
  }
  for (size_t i = 0; i < expected; i++) {
    if (napi_get_value_double(env, values[i], &args[i]) != napi_ok) args[i] = -1;  // refused below
  }
  return true;
}

// The checks every access passes before it touches memory; false with a pending exception.
bool CheckAccess(napi_env napiEnv, const Window& w, const char* what, double offset, double width) {
  Napi::Env env(napiEnv);
  if (width != 1 && width != 2 && width != 4) {
    makeError(env, "ERR_DEVMEM_WIDTH", w.path + ": " + what + " width must be 1, 2 or 4 bytes").ThrowAsJavaScriptException();
    return false;
  }
  const uint32_t bytes = static_cast<uint32_t>(width);
  if (w.map == nullptr) {
    makeError(env, "ERR_DEVMEM_CLOSED", w.Where(what, 0, bytes) + ": the window is closed").ThrowAsJavaScriptException();
    return false;
  }
  if (!(offset >= 0 && offset <= MAX_SAFE_INTEGER) || std::floor(offset) != offset) {
    makeError(env, "ERR_DEVMEM_BOUNDS", w.path + ": " + what + " offset must be a non-negative integer").ThrowAsJavaScriptException();
    return false;
  }
  if (offset + bytes > w.size) {
    makeError(env, "ERR_DEVMEM_BOUNDS", w.Where(what, offset, bytes) + ": outside the window").ThrowAsJavaScriptException();
    return false;
  }
  if ((static_cast<uint64_t>(offset) & (bytes - 1)) != 0) {
    makeError(env, "ERR_DEVMEM_ALIGN", w.Where(what, offset, bytes) + ": not aligned to " + std::to_string(bytes) + " bytes").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

napi_value Fault(napi_env env, const Window& w, const char* what, double offset, uint32_t width) {
  makeError(Napi::Env(env), "ERR_DEVMEM_SIGBUS",
            w.Where(what, offset, width) + ": bus error (SIGBUS): the address is not backed (a file shorter than the window, " +
                "or a device that did not answer)")
      .ThrowAsJavaScriptException();
  return nullptr;
}

// read(offset, width) -> value
napi_value ReadAccess(napi_env env, napi_callback_info info) {
  double args[2];
  Window* w;
  if (!Arguments(env, info, 2, "read(offset, width) takes two numbers", args, &w)) return nullptr;
  if (!CheckAccess(env, *w, "read", args[0], args[1])) return nullptr;
  const uint32_t width = static_cast<uint32_t>(args[1]);
  uint32_t value;
  if (!guardedLoad(w->base + static_cast<size_t>(args[0]), width, &value)) return Fault(env, *w, "read", args[0], width);
  napi_value result;
  napi_create_uint32(env, value, &result);
  return result;
}

// write(offset, value, width)
napi_value WriteAccess(napi_env env, napi_callback_info info) {
  double args[3];
  Window* w;
  if (!Arguments(env, info, 3, "write(offset, value, width) takes three numbers", args, &w)) return nullptr;
  if (!CheckAccess(env, *w, "write", args[0], args[2])) return nullptr;
  const uint32_t width = static_cast<uint32_t>(args[2]);
  const double largest = width == 4 ? 4294967295.0 : width == 2 ? 65535.0 : 255.0;
  const double value = args[1];
  if (!(value >= 0 && value <= largest) || std::floor(value) != value) {
    makeError(Napi::Env(env), "ERR_DEVMEM_VALUE", w->Where("write", args[0], width) + ": the value must be an integer from 0 to " + hex(static_cast<uint64_t>(largest)))
        .ThrowAsJavaScriptException();
    return nullptr;
  }
  if (!guardedStore(w->base + static_cast<size_t>(args[0]), width, static_cast<uint32_t>(value))) return Fault(env, *w, "write", args[0], width);
  return nullptr;
}

// close(): idempotent.
napi_value CloseWindow(napi_env env, napi_callback_info info) {
  void* data;
  size_t count = 0;
  napi_get_cb_info(env, info, &count, nullptr, nullptr, &data);
  static_cast<Window*>(data)->Release();
  return nullptr;
}

// The JavaScript face of a window: { read, write, close }.
Napi::Object WindowObject(Napi::Env env, Window* window) {
  Napi::Object object = Napi::Object::New(env);
  const struct {
    const char* name;
    napi_callback callback;
  } methods[] = {{"read", ReadAccess}, {"write", WriteAccess}, {"close", CloseWindow}};
  for (const auto& m : methods) {
    napi_value fn;
    napi_create_function(env, m.name, NAPI_AUTO_LENGTH, m.callback, window, &fn);
    napi_add_finalizer(env, fn, window, Unreference, nullptr, nullptr);
    window->references++;
    object.Set(m.name, Napi::Value(env, fn));
  }
  return object;
}

// open(path, mapOffset, inner, size, flags) -> { read, write, close }
//
// Maps [mapOffset, mapOffset + inner + size) of `path`, page-aligned, MAP_SHARED; the window is
// the `size` bytes at `inner`. mapOffset is a multiple of the page size (for a UIO node it selects
// the map). With OPEN_LOCK, takes an open-file-description write lock on the window's bytes of the
// file, so that a second opener of an overlapping window, in this process or another, is refused.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const long pageSize = sysconf(_SC_PAGESIZE);
  double mapOffset, inner, size, flags;
  if (info.Length() != 5 || !info[0].IsString()) {
    Napi::TypeError::New(env, "open(path, mapOffset, inner, size, flags)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  if (!integerArg(info, 1, MAX_SAFE_INTEGER, &mapOffset) || std::fmod(mapOffset, static_cast<double>(pageSize)) != 0 ||
      !integerArg(info, 2, MAX_SAFE_INTEGER, &inner) || std::fmod(inner, 4.0) != 0 ||
      !integerArg(info, 3, 4294967295.0, &size) || size == 0 || !integerArg(info, 4, 255, &flags) ||
      mapOffset + inner + size > MAX_SAFE_INTEGER) {
    makeError(env, "ERR_DEVMEM_WINDOW",
              path + ": window arguments must be integers: a map offset that is a multiple of the " + std::to_string(pageSize) +
                  "-byte page, a word-aligned start inside it and a size of 1 byte to 4 GiB")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint64_t start = static_cast<uint64_t>(mapOffset + inner);
  const uint32_t length = static_cast<uint32_t>(size);
  const size_t mapLength = (static_cast<size_t>(inner) + length + pageSize - 1) / pageSize * pageSize;

  // O_SYNC only changes anything for /dev/mem, where it asks for an uncached mapping of the
  // physical range (drivers/char/mem.c); the other files ignore it for mapped accesses.
  const int fd = open(path.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
  if (fd < 0) {
    systemError(env, errno, "open", path, start).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct stat status;
  if (fstat(fd, &status) != 0) {
    const int err = errno;
    close(fd);
    systemError(env, err, "fstat", path, start).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Touching a mapped page wholly past the end of a file raises SIGBUS: refuse such windows now.
  // (A file truncated later is caught by the SIGBUS guard on each access.)
  if (S_ISREG(status.st_mode) && start + length > static_cast<uint64_t>(status.st_size)) {
    close(fd);
    Napi::Error error = makeError(env, "ERR_DEVMEM_PAST_EOF",
                                  path + ": window " + hex(start) + ".." + hex(start + length - 1) + " lies past the end of the file (" +
                                      std::to_string(static_cast<long long>(status.st_size)) + " bytes)");
    error.Set("fileSize", Napi::Number::New(env, static_cast<double>(status.st_size)));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }

  if ((static_cast<uint32_t>(flags) & OPEN_LOCK) != 0) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = static_cast<off_t>(start);
    lock.l_len = static_cast<off_t>(length);
    if (fcntl(fd, F_OFD_SETLK, &lock) != 0) {
      const int err = errno;
      if (err != EAGAIN && err != EACCES) {
        close(fd);
        systemError(env, err, "fcntl(F_OFD_SETLK)", path, start).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      // Who holds it: the range of the conflicting lock, and the file's identity as /proc/locks
      // and /proc/<pid>/fdinfo print it (device major:minor in hex, then the inode).
      struct flock holder;
      memset(&holder, 0, sizeof holder);
      holder.l_type = F_WRLCK;
      holder.l_whence = SEEK_SET;
      holder.l_start = static_cast<off_t>(start);
      holder.l_len = static_cast<off_t>(length);
      const bool known = fcntl(fd, F_OFD_GETLK, &holder) == 0 && holder.l_type != F_UNLCK;
      close(fd);
      char identity[64];
      snprintf(identity, sizeof identity, "%02x:%02x:%llu", major(status.st_dev), minor(status.st_dev),
               static_cast<unsigned long long>(status.st_ino));
      Napi::Error error = makeError(env, "ERR_DEVMEM_BUSY", path + ": window " + hex(start) + ".." + hex(start + length - 1) + " is locked by another open file");
      error.Set("lockIdentity", Napi::String::New(env, identity));
      if (known) {
        error.Set("lockStart", Napi::Number::New(env, static_cast<double>(holder.l_start)));
        error.Set("lockLength", Napi::Number::New(env, static_cast<double>(holder.l_len)));
      }
      error.ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  void* map = mmap(nullptr, mapLength, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(mapOffset));
  if (map == MAP_FAILED) {
    const int err = errno;
    close(fd);
    Napi::Error error = systemError(env, err, "mmap", path, start);
    error.Set("mapLength", Napi::Number::New(env, static_cast<double>(mapLength)));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Window* window = new Window();
  window->path = path;
  window->fileOffset = start;
  window->size = length;
  window->fd = fd;
  window->map = map;
  window->mapLength = mapLength;
  window->base = static_cast<volatile uint8_t*>(map) + static_cast<size_t>(inner);
  return WindowObject(env, window);
}

// barrier(kind): the CPU's barrier for the ABI's kind (0 DMB, 1 DSB, 2 ISB).
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double kind;
  if (info.Length() != 1 || !integerArg(info, 0, 2, &kind)) {
    makeError(env, "ERR_DEVMEM_BARRIER", "barrier kind must be 0 (DMB), 1 (DSB) or 2 (ISB)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  cpuBarrier(static_cast<uint32_t>(kind));
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installSigbusHandler();

  Napi::Array barriers = Napi::Array::New(env, 3);
  for (uint32_t i = 0; i < 3; i++) barriers.Set(i, Napi::String::New(env, BARRIER_INSTRUCTIONS[i]));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
  exports.Set("barrierInstructions", barriers);
  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("barrier", Napi::Function::New(env, Barrier, "barrier"));
  return exports;
}

}  // namespace

NODE_API_MODULE(wasm_hal_devmem, Init)
