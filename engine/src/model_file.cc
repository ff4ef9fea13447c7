// Reading a .cnnrt file (engine/MODEL_FILE.md). Nothing is trusted before the checksum matches,
// and even then every count, length and offset is checked against what is left, so a forged
// file gets an error too, never an out-of-bounds read or a huge allocation.
#include "cnnrt/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "cnnrt/plugin_library.h"

namespace cnnrt {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .cnnrt reader assumes a little-endian host");

namespace {

constexpr size_t kHeaderBytes = 64;
constexpr size_t kCrcOffset = 60;
constexpr int kMaxVid = 1 << 24;
constexpr int64_t kMaxElems = int64_t{1} << 40;

// --- CRC-32C (Castagnoli): the SSE4.2 instruction where the CPU has it (~8 bytes a cycle:
// checking ResNet-152's 230 MB takes ~30 ms instead of ~150 ms with tables), else slicing by 8.
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

uint32_t crc32c_tables(uint32_t crc, const uint8_t* p, size_t n) {
  static const CrcTables tables;
  const auto& t = tables.t;
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

// --- the file ---------------------------------------------------------------------------
class File {
 public:
  explicit File(const std::string& path) : path_(path) {
    do fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw ModelFileError(ModelFileError::Io, path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode))
      throw ModelFileError(ModelFileError::Io, path + ": not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  uint64_t size() const { return size_; }

  // Exactly n bytes into dst, CRC'd; a short read means the file shrank under us.
  void read(void* dst, size_t n, uint32_t& crc) {
    char* p = static_cast<char*>(dst);
    size_t left = n;
    while (left > 0) {
      const ssize_t got = ::read(fd_, p, std::min<size_t>(left, size_t{1} << 30));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw ModelFileError(ModelFileError::Io, path_ + ": read error: " + std::strerror(errno));
      if (got == 0) throw ModelFileError(ModelFileError::Truncated, path_ + ": the file is truncated (it ended while being read)");
      p += got;
      left -= static_cast<size_t>(got);
    }
    crc = crc32c_update(crc, dst, n);
  }
  void skip(uint64_t n, uint32_t& crc) {  // read and CRC n bytes we do not keep
    std::vector<char> buf(static_cast<size_t>(std::min<uint64_t>(n, 1 << 20)));
    while (n > 0) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, buf.size()));
      read(buf.data(), k, crc);
      n -= k;
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// --- little-endian records ----------------------------------------------------------------
class Cursor {
 public:
  Cursor(const uint8_t* p, size_t n, std::string what) : p_(p), n_(n), what_(std::move(what)) {}
  template <class T>
  T pod() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const uint32_t len = pod<uint32_t>();
    need(len);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  template <class T, class Out>
  std::vector<Out> list() {  // u32 count, then count items of T
    const uint32_t count = pod<uint32_t>();
    need(uint64_t{count} * sizeof(T));
    std::vector<Out> v(count);
    for (auto& x : v) x = static_cast<Out>(pod<T>());
    return v;
  }
  bool done() const { return pos_ == n_; }
  void need(uint64_t k) const {
    if (k > n_ - pos_) throw std::invalid_argument(what_ + " ends early");
  }

 private:
  const uint8_t* p_;
  size_t n_, pos_ = 0;
  std::string what_;
};

Shape read_shape(Cursor& c, const std::string& what) {
  Shape s = c.list<int64_t, int64_t>();
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0 || (d > 0 && n > kMaxElems / d)) throw std::invalid_argument(what + ": bad shape " + shape_str(s));
    n *= d;
  }
  return s;
}

Attr read_attr(Cursor& c, const std::string& key) {
  switch (c.pod<uint8_t>()) {
    case 0: return c.pod<int64_t>();
    case 1: return c.pod<double>();
    case 2: return c.str();
    case 3: return c.list<int64_t, int64_t>();
    case 4: return c.list<double, double>();
    default: throw std::invalid_argument("attribute '" + key + "' has an unknown type");
  }
}

struct Header {
  uint32_t version = 0, header_bytes = 0, crc = 0;
  uint64_t file_bytes = 0, manifest_offset = 0, manifest_bytes = 0, data_offset = 0, data_bytes = 0;
};

// Where each constant lies in the data section (offset from its start), before it is read.
struct Pending {
  size_t value;  // index into ModelFile::values
  uint64_t offset, bytes;
};

void parse_record(ModelFile& m, const std::string& tag, Cursor& c, std::vector<Pending>& pending) {
  if (tag == "MODL") {
    m.producer = c.str();
    m.source = c.str();
    m.isa = c.str();
    m.arena_bytes = c.pod<uint64_t>();
  } else if (tag == "VALU") {
    ModelFileValue v;
    v.vid = c.pod<int32_t>();
    v.shape = read_shape(c, "value " + std::to_string(v.vid));
    const uint8_t kind = c.pod<uint8_t>();
    if (kind > 1) throw std::invalid_argument("value " + std::to_string(v.vid) + " has an unknown kind");
    v.is_const = kind == 1;
    if (v.is_const) pending.push_back({m.values.size(), c.pod<uint64_t>(), uint64_t(numel(v.shape)) * 4});
    m.values.push_back(std::move(v));
  } else if (tag == "STEP") {
    Step s;
    s.op = c.str();
    s.name = c.str();
    m.kernels.push_back(c.str());
    s.inputs = c.list<int32_t, int>();
    s.outputs = c.list<int32_t, int>();
    const uint32_t n_attrs = c.pod<uint32_t>();
    for (uint32_t i = 0; i < n_attrs; ++i) {
      const std::string key = c.str();
      s.attrs.set(key, read_attr(c, key));
    }
    m.steps.push_back(std::move(s));
  } else if (tag == "INPT") {
    ModelFileInput in;
    in.name = c.str();
    in.dtype = c.str();
    in.shape = read_shape(c, "input '" + in.name + "'");
    in.vid = c.pod<int32_t>();
    m.inputs.push_back(std::move(in));
  } else if (tag == "OUTP") {
    ModelFileOutput out;
    out.name = c.str();
    out.shape = read_shape(c, "output '" + out.name + "'");
    out.vid = c.pod<int32_t>();
    out.probabilities = c.pod<uint8_t>() != 0;
    m.outputs.push_back(std::move(out));
  } else if (tag == "PREP") {
    auto& p = m.preprocess;
    const auto size = c.list<int64_t, int64_t>();
    if (size.size() != 2 || size[0] <= 0 || size[1] <= 0) throw std::invalid_argument("preprocessing: bad size");
    p.height = size[0], p.width = size[1];
    p.resize = c.pod<int64_t>();
    p.crop = c.str();
    p.scale = c.pod<double>();
    p.mean = c.list<double, double>();
    p.std = c.list<double, double>();
    p.channel_order = c.str();
    p.interpolation = c.str();
    p.layout = c.str();
    const size_t channels = p.channel_order == "L" ? 1 : 3;
    if (p.resize < 0 || p.mean.size() != channels || p.std.size() != channels)
      throw std::invalid_argument("preprocessing: bad resize, mean or std");
    m.has_preprocess = true;
  } else if (tag == "LABL") {
    const uint32_t n = c.pod<uint32_t>();
    c.need(uint64_t{n} * 4);
    for (uint32_t i = 0; i < n; ++i) m.labels.push_back(c.str());
  } else if (tag == "PLUG") {
    std::string kernel = c.str();
    m.plugin_libraries.emplace_back(std::move(kernel), c.str());
  } else if (tag == "META") {
    std::string key = c.str();
    m.metadata.emplace_back(std::move(key), c.str());
  } else {
    return;  // an unknown record (a later writer's addition): skipped, as the spec says
  }
  if (!c.done()) throw std::invalid_argument("record " + tag + " has trailing bytes");
}

void parse_manifest(ModelFile& m, const std::vector<uint8_t>& bytes, std::vector<Pending>& pending) {
  Cursor c(bytes.data(), bytes.size(), "the manifest");
  bool first = true;
  while (!c.done()) {
    char tag[5] = {};
    for (int i = 0; i < 4; ++i) tag[i] = static_cast<char>(c.pod<uint8_t>());
    const uint32_t len = c.pod<uint32_t>();
    c.need(len);
    std::vector<uint8_t> payload(len);
    for (auto& b : payload) b = c.pod<uint8_t>();
    if (first && std::string(tag) != "MODL") throw std::invalid_argument("the manifest does not start with MODL");
    first = false;
    Cursor rc(payload.data(), payload.size(), std::string("record ") + tag);
    parse_record(m, tag, rc, pending);
  }
  if (first) throw std::invalid_argument("the manifest is empty");
}

// Cross-references that the plan does not check itself: vids, io, constant placement.
void validate(const ModelFile& m, const std::vector<Pending>& pending, uint64_t data_bytes) {
  std::set<int> vids;
  for (const auto& v : m.values)
    if (v.vid < 0 || v.vid >= kMaxVid || !vids.insert(v.vid).second)
      throw std::invalid_argument("value id " + std::to_string(v.vid) + " is out of range or repeated");
  for (const Pending& p : pending)
    if (p.offset % 64 != 0 || p.offset > data_bytes || p.bytes > data_bytes - p.offset)
      throw std::invalid_argument("constant " + std::to_string(m.values[p.value].vid) +
                                  " lies outside the data section or is misaligned");
  if (m.kernels.size() != m.steps.size()) throw std::invalid_argument("kernel list and steps differ");
  for (const Step& s : m.steps) {  // its kernel lives outside the file, in a plugin library
    if (s.op != "plugin") continue;
    const std::string k = s.attrs.s_or("plugin_kernel", "");  // (s_or throws on a non-string)
    if (k.find("::") == std::string::npos)
      throw std::invalid_argument("step '" + s.name + "' (plugin) does not name its kernel (\"domain::OpType\")");
  }
  std::set<int> input_vids;
  for (const auto& in : m.inputs) {
    const ModelFileValue* v = m.value(in.vid);
    if (!v || v->is_const || v->shape != in.shape || !input_vids.insert(in.vid).second)
      throw std::invalid_argument("input '" + in.name + "' does not match its value");
  }
  for (const auto& out : m.outputs) {
    const ModelFileValue* v = m.value(out.vid);
    if (!v || v->shape != out.shape) throw std::invalid_argument("output '" + out.name + "' does not match its value");
  }
  if (m.outputs.empty()) throw std::invalid_argument("the model has no outputs");
}

std::shared_ptr<float> aligned_floats(uint64_t bytes, const std::string& path) {
  const size_t n = static_cast<size_t>((std::max<uint64_t>(bytes, 1) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, n);
  if (!p) throw ModelFileError(ModelFileError::Io, path + ": out of memory reading " + std::to_string(bytes) + " bytes");
  return std::shared_ptr<float>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

// Every plugin step's kernel must be registered now: the file holds its name, not its code.
void check_plugin_kernels(const ModelFile& m) {
  for (const Step& s : m.steps) {
    if (s.op != "plugin") continue;
    const std::string kernel = s.attrs.s("plugin_kernel");
    if (has_plugin_kernel(kernel)) continue;
    std::string hint;
    for (const auto& [k, lib] : m.plugin_libraries)
      if (k == kernel && !lib.empty()) hint = lib;
    throw ModelFileError(ModelFileError::MissingPlugin,
        m.path + ": step '" + s.name + "' runs the plugin kernel " + kernel + ", which no plugin library "
        "loaded in this process registers (the file was written with it from " +
        (hint.empty() ? std::string("an unnamed library") : hint) + "); load it first: cnnrt.load_plugin(" +
        "path) in Python, cnnrt_load_plugin(path) in C");
  }
}

}  // namespace

uint32_t crc32c_update(uint32_t crc, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw) return ~crc32c_sse42(~crc, p, n);
#endif
  return ~crc32c_tables(~crc, p, n);
}

const ModelFileValue* ModelFile::value(int vid) const {
  for (const auto& v : values)
    if (v.vid == vid) return &v;
  return nullptr;
}

bool is_model_file(const std::string& path) {
  char magic[sizeof kModelFileMagic] = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t got = ::read(fd, magic, sizeof magic);
  ::close(fd);
  return got == static_cast<ssize_t>(sizeof magic) && std::memcmp(magic, kModelFileMagic, sizeof magic) == 0;
}

ModelFile read_model_file(const std::string& path) {
  File f(path);
  auto fail = [&](ModelFileError::Kind k, const std::string& msg) { return ModelFileError(k, path + ": " + msg); };
  uint8_t raw[kHeaderBytes];
  uint32_t crc = 0;
  if (f.size() < kHeaderBytes) {
    if (f.size() >= sizeof kModelFileMagic) {
      f.read(raw, sizeof kModelFileMagic, crc);
      if (std::memcmp(raw, kModelFileMagic, sizeof kModelFileMagic) == 0)
        throw fail(ModelFileError::Truncated, "the file is truncated (" + std::to_string(f.size()) + " bytes, shorter than its header)");
    }
    throw fail(ModelFileError::NotModelFile, "not a cnnrt model file (no CNNRT header)");
  }
  f.read(raw, kCrcOffset, crc);
  uint8_t tail[4];
  uint32_t ignored = 0;
  f.read(tail, 4, ignored);  // the CRC field itself is not covered
  if (std::memcmp(raw, kModelFileMagic, sizeof kModelFileMagic) != 0)
    throw fail(ModelFileError::NotModelFile, "not a cnnrt model file (no CNNRT header)");
  Header h;
  Cursor hc(raw + 8, kCrcOffset - 8, "the header");
  h.version = hc.pod<uint32_t>();
  h.header_bytes = hc.pod<uint32_t>();
  h.file_bytes = hc.pod<uint64_t>();
  h.manifest_offset = hc.pod<uint64_t>();
  h.manifest_bytes = hc.pod<uint64_t>();
  h.data_offset = hc.pod<uint64_t>();
  h.data_bytes = hc.pod<uint64_t>();
  std::memcpy(&h.crc, tail, 4);
  if (h.version != kModelFileVersion)
    throw fail(ModelFileError::Version, "model file format version " + std::to_string(h.version) +
                                            ", but this cnnrt reads version " + std::to_string(kModelFileVersion) +
                                            "; compile the model again with this cnnrt (cnnrt compile model.onnx -o ...)");
  if (h.file_bytes != f.size())
    throw fail(ModelFileError::Truncated, h.file_bytes > f.size()
        ? "the file is truncated (" + std::to_string(f.size()) + " of " + std::to_string(h.file_bytes) + " bytes)"
        : "the file has " + std::to_string(f.size() - h.file_bytes) + " bytes past its end");
  const bool layout_ok = h.header_bytes == kHeaderBytes && h.manifest_offset == kHeaderBytes &&
                         h.manifest_bytes <= h.file_bytes - kHeaderBytes &&
                         h.data_offset >= kHeaderBytes + h.manifest_bytes && h.data_offset % 64 == 0 &&
                         h.data_offset <= h.file_bytes && h.data_bytes == h.file_bytes - h.data_offset;
  if (!layout_ok) {
    f.skip(f.size() - kHeaderBytes, crc);
    throw fail(crc == h.crc ? ModelFileError::Invalid : ModelFileError::Corrupt,
               crc == h.crc ? "inconsistent section layout in the header" : "checksum mismatch: the file is corrupted");
  }

  ModelFile m;
  m.path = path;
  m.version = h.version;
  std::vector<uint8_t> manifest(static_cast<size_t>(h.manifest_bytes));
  f.read(manifest.data(), manifest.size(), crc);
  f.skip(h.data_offset - kHeaderBytes - h.manifest_bytes, crc);
  std::vector<Pending> pending;
  std::string invalid;  // why the manifest cannot be used; reported only if the CRC matches
  try {
    parse_manifest(m, manifest, pending);
    validate(m, pending, h.data_bytes);
  } catch (const std::exception& e) {
    invalid = e.what();
  }
  // The data section, in file order: each constant into its own buffer, gaps CRC'd and dropped.
  uint64_t at = 0;
  if (invalid.empty()) {
    std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.offset < b.offset; });
    for (const Pending& p : pending) {
      if (p.offset < at) {
        invalid = "constants overlap in the data section";
        break;
      }
      f.skip(p.offset - at, crc);
      auto buf = aligned_floats(p.bytes, path);
      f.read(buf.get(), static_cast<size_t>(p.bytes), crc);
      m.values[p.value].data = std::move(buf);
      at = p.offset + p.bytes;
    }
  }
  f.skip(h.data_bytes - at, crc);
  if (crc != h.crc) throw fail(ModelFileError::Corrupt, "checksum mismatch: the file is corrupted");
  if (!invalid.empty()) throw fail(ModelFileError::Invalid, "invalid model file: " + invalid);
  check_plugin_kernels(m);
  return m;
}

std::unique_ptr<Plan> ModelFile::make_plan(int num_threads, const std::string& isa) {
  if (num_threads < 0) throw std::invalid_argument("num_threads must be >= 0");
  auto plan = std::make_unique<Plan>();
  auto is_output = [&](int vid) {
    return std::any_of(outputs.begin(), outputs.end(), [&](const ModelFileOutput& o) { return o.vid == vid; });
  };
  try {
    for (auto& v : values) {
      if (!v.is_const) {
        plan->add_value(v.vid, v.shape);
        continue;
      }
      if (!v.data) throw std::invalid_argument("constant " + std::to_string(v.vid) + " was handed to an earlier plan");
      plan->add_constant(v.vid, v.shape, v.data.get(), v.data);
      if (!is_output(v.vid)) v.data.reset();  // the plan's share alone: freed once packed
    }
    for (const Step& s : steps) plan->add_step(s.op, s.inputs, s.outputs, s.attrs, s.name);
    std::vector<int> ins, outs;
    for (const auto& in : inputs) ins.push_back(in.vid);
    for (const auto& out : outputs) {
      const ModelFileValue* v = value(out.vid);
      const bool is_input = std::any_of(inputs.begin(), inputs.end(), [&](const ModelFileInput& i) { return i.vid == out.vid; });
      if (!v->is_const && !is_input) outs.push_back(out.vid);
    }
    plan->set_io(ins, outs);
  } catch (const std::exception& e) {
    throw ModelFileError(ModelFileError::Invalid, path + ": invalid model file: " + e.what());
  }
  try {
    plan->compile(num_threads, isa);
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    if (msg.rfind("step '", 0) == 0 || msg.rfind("set_io", 0) == 0 || msg.rfind("compile", 0) == 0)
      throw ModelFileError(ModelFileError::Invalid, path + ": invalid model file: " + msg);
    throw;  // a bad isa or thread count: the caller's
  }
  return plan;
}

}  // namespace cnnrt
