// Module tests for gdbstub/: the packet codec, every command handler against
// a fake target (a register file and a sparse memory with a hole), the
// target description, and the sockets.
#include <gtest/gtest.h>

#include <cinttypes>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <glib.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "gdbstub/gdbstub.h"

namespace
{

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMappedStart = 0x400000; // pages 0x400000..0x402fff mapped
constexpr uint64_t kHole = 0x403000;        // unmapped
constexpr uint64_t kAfterHole = 0x404000;   // mapped again
constexpr uint64_t kKernelText = 0xffff800000100000ULL;

struct ResumeCall {
    gdb_resume_mode mode;
    uint64_t start, end;
    int signal;
};

struct BreakpointCall {
    bool insert;
    gdb_breakpoint_type type;
    uint64_t address, kind;
};

// What the monitor would be: records every call the stub makes.
struct FakeTarget {
    cpu_state state{};
    cpu_fpu_state fpu{};
    std::map<uint64_t, std::vector<uint8_t>> pages;
    std::vector<ResumeCall> resumes;
    std::vector<BreakpointCall> breakpoints;
    std::vector<size_t> conditions, commands; // of each Z0/Z1 (insert_code_breakpoint)
    std::vector<uint8_t> first_condition;
    bool persist = false;
    int breakpoint_result = 0;
    int resume_result = 0;
    int interrupts = 0, kills = 0, detaches = 0, disconnects = 0, register_writes = 0;
    // interrupt_at_resume calls, and how many resumes had come before each.
    std::vector<size_t> interrupts_at_resume;
    bool access_crossed_page = false;
    std::string last_monitor_command;
    std::string monitor_output = "monitor says hi\n";
    std::vector<uint8_t> auxv_bytes;
    bool catching = false;
    // Whether the general registers alone can be read (fpu NULL): then stop
    // replies expedite rbp, rsp and rip. Off, so that the other tests' stop
    // replies stay short; StopRepliesExpediteFrameRegisters turns it on.
    bool expedite = false;
    std::vector<uint64_t> caught;
    std::vector<int> passed, programmed;
    uint64_t link_map_start = 1;  /* what the last link_map call asked for */
    int64_t pid = 0;              // no multiprocess unless a test sets one
    std::vector<uint8_t> siginfo; // the stop's siginfo; empty: none
    bool fork_events = false, vfork_events = false;
    int64_t released_child = 0, followed_child = 0; // the fork's child gdb let go, or took
    std::string follow_session;
    int64_t kept_child = 0; // detach-on-fork off: the child, and the test's end of its pair
    int kept_end = -1;
    uint64_t orig_rax = UINT64_MAX; // -1: not stopped in a syscall
    gdb_avx512_state avx512{};      // served by kAvx512Ops only
    int avx512_writes = 0;

    FakeTarget()
    {
        for (uint64_t page :
             {kMappedStart, kMappedStart + kPage, kMappedStart + 2 * kPage, kAfterHole}) {
            std::vector<uint8_t> bytes(kPage);
            for (uint64_t i = 0; i < kPage; i++)
                bytes[i] = (uint8_t)((page >> 12) + i);
            pages[page] = bytes;
        }
        // An auxv with every byte that needs escaping in a binary reply.
        auxv_bytes = {6, 0, 0, 0, '#', '$', '}', '*', 0, 0x10, 0, 0, 0, 0, 0, 0};
    }

    uint8_t *Byte(uint64_t address)
    {
        auto page = pages.find(address & ~(kPage - 1));
        return page == pages.end() ? nullptr : &page->second[address & (kPage - 1)];
    }

    int Access(uint64_t address, uint8_t *buffer, const uint8_t *data, size_t length)
    {
        if (length > 0 && (address & ~(kPage - 1)) != ((address + length - 1) & ~(kPage - 1)))
            access_crossed_page = true;
        for (size_t i = 0; i < length; i++)
            if (!Byte(address + i))
                return -EFAULT;
        for (size_t i = 0; i < length; i++) {
            if (buffer)
                buffer[i] = *Byte(address + i);
            else
                *Byte(address + i) = data[i];
        }
        return 0;
    }
};

FakeTarget *Fake(void *opaque)
{
    return static_cast<FakeTarget *>(opaque);
}

const gdb_target_ops kFakeOps = {
    [](void *opaque, int64_t, cpu_state *state, cpu_fpu_state *fpu) {
        if (!fpu && !Fake(opaque)->expedite)
            return -ENOTSUP;
        *state = Fake(opaque)->state;
        if (fpu)
            *fpu = Fake(opaque)->fpu;
        return 0;
    },
    [](void *opaque, int64_t, const cpu_state *state, const cpu_fpu_state *fpu) {
        Fake(opaque)->state = *state;
        Fake(opaque)->fpu = *fpu;
        Fake(opaque)->register_writes++;
        return 0;
    },
    [](void *opaque, uint64_t address, void *buffer, size_t length) {
        return Fake(opaque)->Access(address, (uint8_t *)buffer, nullptr, length);
    },
    [](void *opaque, uint64_t address, const void *buffer, size_t length) {
        return Fake(opaque)->Access(address, nullptr, (const uint8_t *)buffer, length);
    },
    [](void *opaque, const gdb_resume_action *actions, size_t count) {
        EXPECT_EQ(count, 1u); // one thread: one action, for every thread
        EXPECT_EQ(actions[0].thread, -1);
        Fake(opaque)->resumes.push_back(
            {actions[0].mode, actions[0].range_start, actions[0].range_end, actions[0].signal});
        return Fake(opaque)->resume_result;
    },
    [](void *opaque) { Fake(opaque)->interrupts++; },
    [](void *opaque, gdb_breakpoint_type type, uint64_t address, uint64_t kind) {
        Fake(opaque)->breakpoints.push_back({true, type, address, kind});
        return Fake(opaque)->breakpoint_result;
    },
    [](void *opaque, gdb_breakpoint_type type, uint64_t address, uint64_t kind) {
        Fake(opaque)->breakpoints.push_back({false, type, address, kind});
        return Fake(opaque)->breakpoint_result;
    },
    [](void *opaque) { Fake(opaque)->kills++; }, [](void *opaque) { Fake(opaque)->detaches++; },
    [](void *opaque) { Fake(opaque)->disconnects++; },
    [](void *opaque, const char *command) {
        Fake(opaque)->last_monitor_command = command;
        return g_strdup(Fake(opaque)->monitor_output.c_str());
    },
    [](void *) { return "/home/user/prog"; },
    [](void *, uint64_t *text) {
        *text = kKernelText;
        return "/usr/lib/hermitux-run/hermitux-kernel";
    },
    [](void *opaque, size_t *length) {
        *length = Fake(opaque)->auxv_bytes.size();
        return (const void *)Fake(opaque)->auxv_bytes.data();
    },
    [](void *opaque, bool enable, const uint64_t *numbers, size_t count) {
        Fake(opaque)->catching = enable;
        Fake(opaque)->caught.assign(numbers, numbers + count);
        return 0;
    },
    [](void *opaque, const bool *pass, const bool *program) {
        Fake(opaque)->passed.clear();
        Fake(opaque)->programmed.clear();
        for (int signal = 0; signal < GDB_SIGNAL_LIMIT; signal++) {
            if (pass[signal])
                Fake(opaque)->passed.push_back(signal);
            if (program[signal])
                Fake(opaque)->programmed.push_back(signal);
        }
    },
    // ld.so's list: the program (lm 0x1000), a nameless entry, libc (lm 0x3000).
    [](void *opaque, uint64_t start, gdb_library **libraries) -> size_t {
        Fake(opaque)->link_map_start = start;
        const gdb_library all[] = {{0x1000, 0, 0x403e00, nullptr},
                                   {0x2000, 0x7f00, 0x7f10, nullptr},
                                   {0x3000, 0x7f0000000000, 0x7f00001f0000, nullptr}};
        const char *names[] = {"", "", "/lib/libc.so.6 <&>"};
        size_t first = start == 0x3000 ? 2 : 0;
        *libraries = g_new0(gdb_library, 3);
        for (size_t i = first; i < 3; i++) {
            (*libraries)[i - first] = all[i];
            (*libraries)[i - first].name = g_strdup(names[i]);
        }
        return 3 - first;
    },
    [](void *opaque) { return Fake(opaque)->pid; },
    [](void *, const char *path, int flags, unsigned) {
        // The program's files: one virtual text, nothing else.
        if (strcmp(path, "/proc/self/comm") != 0)
            return -ENOENT;
        if ((flags & O_ACCMODE) != O_RDONLY)
            return -EACCES;
        int fd = memfd_create("comm", MFD_CLOEXEC);
        if (fd < 0)
            return -errno;
        (void)!write(fd, "prog\n", 5);
        return fd;
    },
    [](void *, const char *path, char *out, size_t size) -> long {
        if (strcmp(path, "/proc/self/exe") != 0)
            return -ENOENT;
        return (long)g_strlcpy(out, "/bin/prog", size);
    },
    [](void *opaque, int64_t tid, uint8_t info[128], bool write) {
        std::vector<uint8_t> &siginfo = Fake(opaque)->siginfo;
        if (tid != 1)
            return -ESRCH; // the one thread
        if (siginfo.empty())
            return -ENOENT;
        if (write)
            siginfo.assign(info, info + 128);
        else
            memcpy(info, siginfo.data(), 128);
        return 0;
    },
    nullptr, // one thread, id 1
    nullptr, nullptr,
    [](void *opaque, bool fork, bool vfork) {
        Fake(opaque)->fork_events = fork;
        Fake(opaque)->vfork_events = vfork;
    },
    [](void *opaque, int64_t child) {
        Fake(opaque)->released_child = child;
        return 0;
    },
    [](void *opaque, int64_t child, const char *session) {
        Fake(opaque)->followed_child = child;
        Fake(opaque)->follow_session = session;
        return 0;
    },
    [](void *opaque, int64_t child, const char *session, int *child_end) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
            return -errno;
        Fake(opaque)->kept_child = child;
        Fake(opaque)->follow_session = session;
        Fake(opaque)->kept_end = pair[1];
        *child_end = pair[1];
        return pair[0];
    },
    [](void *opaque, int64_t tid, uint64_t *value, bool write) {
        if (tid != 1)
            return -ESRCH;
        if (write)
            Fake(opaque)->orig_rax = *value;
        else
            *value = Fake(opaque)->orig_rax;
        return 0;
    },
    nullptr, // no AVX-512 (kAvx512Ops has it)
    nullptr,
    [](void *opaque, gdb_breakpoint_type type, uint64_t address, uint64_t kind,
       const gdb_breakpoint_actions *actions) {
        Fake(opaque)->breakpoints.push_back({true, type, address, kind});
        Fake(opaque)->conditions.push_back(actions->condition_count);
        Fake(opaque)->commands.push_back(actions->command_count);
        if (actions->condition_count && Fake(opaque)->first_condition.empty())
            Fake(opaque)->first_condition.assign(actions->conditions[0].bytes,
                                                 actions->conditions[0].bytes +
                                                     actions->conditions[0].length);
        Fake(opaque)->persist = actions->persist;
        return Fake(opaque)->breakpoint_result;
    },
    nullptr, // all-stop only (kNonStopOps has non-stop)
    nullptr,
    nullptr, // no thread events (kNonStopOps has them)
    nullptr, // a queued Ctrl-C is an interrupt after the resume (kInterruptAtResumeOps)
};

std::string Checksum(const std::string &payload)
{
    unsigned sum = 0;
    for (unsigned char c : payload)
        sum += c;
    char text[3];
    snprintf(text, sizeof text, "%02x", sum & 0xff);
    return text;
}

std::string Frame(const std::string &payload)
{
    return "$" + payload + "#" + Checksum(payload);
}

std::string Hex(const std::string &bytes)
{
    std::string out;
    char pair[3];
    for (unsigned char c : bytes) {
        snprintf(pair, sizeof pair, "%02x", c);
        out += pair;
    }
    return out;
}

std::string Unhex(const std::string &hex)
{
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out += (char)std::stoi(hex.substr(i, 2), nullptr, 16);
    return out;
}

// Undoes run-length encoding: "X*N" is X and N - 29 more copies.
std::string ExpandRuns(const std::string &data)
{
    std::string out;
    for (size_t i = 0; i < data.size(); i++) {
        if (data[i] == '*' && !out.empty() && i + 1 < data.size())
            out.append((unsigned char)data[++i] - 29, out.back());
        else
            out += data[i];
    }
    return out;
}

std::string Unescape(const std::string &data)
{
    std::string out;
    for (size_t i = 0; i < data.size(); i++)
        out += data[i] == '}' ? (char)(data[++i] ^ 0x20) : data[i];
    return out;
}

uint64_t LittleEndian(const std::string &bytes)
{
    uint64_t value = 0;
    for (size_t i = 0; i < bytes.size() && i < 8; i++)
        value |= (uint64_t)(uint8_t)bytes[i] << (8 * i);
    return value;
}

class GdbstubTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        stub_ = gdbstub_new(&kFakeOps, &fake_);
        gdbstub_capture_output(stub_, Capture, &output_);
    }
    void TearDown() override
    {
        gdbstub_free(stub_);
    }

    static void Capture(void *opaque, const char *bytes, size_t length)
    {
        static_cast<std::string *>(opaque)->append(bytes, length);
    }

    // Raw bytes in, raw bytes out.
    std::string Feed(const std::string &bytes)
    {
        output_.clear();
        gdbstub_feed(stub_, bytes.data(), bytes.size());
        return output_;
    }

    // The payloads of every packet in out, checksums verified; acks dropped.
    static std::vector<std::string> Packets(const std::string &out)
    {
        std::vector<std::string> packets;
        size_t at = 0;
        while ((at = out.find('$', at)) != std::string::npos) {
            size_t hash = out.find('#', at);
            EXPECT_NE(hash, std::string::npos) << out;
            if (hash == std::string::npos || hash + 3 > out.size())
                break;
            std::string payload = out.substr(at + 1, hash - at - 1);
            EXPECT_EQ(out.substr(hash + 1, 2), Checksum(payload)) << out;
            packets.push_back(ExpandRuns(payload));
            at = hash + 3;
        }
        return packets;
    }

    // Sends one packet and returns the one reply ("<none>" if there is none).
    std::string Ask(const std::string &payload)
    {
        std::string out = Feed(Frame(payload));
        std::vector<std::string> packets = Packets(out);
        EXPECT_LE(packets.size(), 1u) << out;
        return packets.empty() ? "<none>" : packets[0];
    }

    void EnableSwbreak()
    {
        Ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
    }

    void Stop(gdb_stop_kind kind, int signal, gdb_stop_reason reason = GDB_STOP_REASON_NONE,
              uint64_t watch = 0, int exit_status = 0)
    {
        gdb_stop stop{};
        stop.kind = kind;
        stop.signal = signal;
        stop.reason = reason;
        stop.watch_address = watch;
        stop.exit_status = exit_status;
        output_.clear();
        gdbstub_notify_stop(stub_, &stop);
    }

    // The program forked child and gdb is told (fork-events).
    void ForkEvent(int64_t child)
    {
        gdb_stop stop{};
        stop.kind = GDB_STOP_SIGNAL;
        stop.signal = 5;
        stop.reason = GDB_STOP_REASON_FORK;
        stop.child_pid = child;
        output_.clear();
        gdbstub_notify_stop(stub_, &stop);
    }

    FakeTarget fake_;
    gdbstub *stub_ = nullptr;
    std::string output_;
};

// ---- codec ---------------------------------------------------------------

TEST_F(GdbstubTest, AcksAGoodPacketAndFramesTheReply)
{
    std::string out = Feed("$?#3f");
    ASSERT_EQ(out.substr(0, 1), "+");
    EXPECT_EQ(out.substr(1), Frame("T05thread:1;"));
}

TEST_F(GdbstubTest, NaksABadChecksumAndDropsThePacket)
{
    EXPECT_EQ(Feed("$?#00"), "-");
    EXPECT_EQ(Feed("$?#zz"), "-");
    EXPECT_TRUE(fake_.resumes.empty());
}

TEST_F(GdbstubTest, RetransmitsTheLastPacketOnNak)
{
    std::string reply = Feed(Frame("qC")).substr(1);
    EXPECT_EQ(reply, Frame("QC1"));
    EXPECT_EQ(Feed("-"), reply);
    EXPECT_EQ(Feed("+"), "");
}

TEST_F(GdbstubTest, NoAckModeStopsAcking)
{
    EXPECT_EQ(Feed(Frame("QStartNoAckMode")), "+" + Frame("OK"));
    EXPECT_EQ(Feed(Frame("qC")), Frame("QC1"));
    EXPECT_EQ(Feed("-"), ""); // no retransmission either
}

TEST_F(GdbstubTest, IgnoresGarbageBetweenPackets)
{
    std::string out = Feed("xyz\r\n+++" + Frame("qC") + "junk" + Frame("qAttached"));
    std::vector<std::string> packets = Packets(out);
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_EQ(packets[0], "QC1");
    EXPECT_EQ(packets[1], "0");
}

TEST_F(GdbstubTest, ADollarInsideAPacketStartsANewOne)
{
    std::vector<std::string> packets = Packets(Feed("$qSupp" + Frame("qC")));
    ASSERT_EQ(packets.size(), 1u);
    EXPECT_EQ(packets[0], "QC1");
}

TEST_F(GdbstubTest, DecodesRunLengthEncoding)
{
    // "0*&": '0' and 38 - 29 = 9 more.
    EXPECT_EQ(Ask("M400000,5:0*&"), "OK");
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(*fake_.Byte(kMappedStart + i), 0);
    EXPECT_EQ(Ask("m400000,5"), "0000000000");
    EXPECT_EQ(Ask("*a"), "E22"); // nothing to repeat
}

TEST_F(GdbstubTest, EncodesRunsInReplies)
{
    std::string out = Feed(Frame("g"));
    EXPECT_LT(out.size(), 200u) << "mostly zero registers should compress";
    std::vector<std::string> packets = Packets(out);
    ASSERT_EQ(packets.size(), 1u);
    uint8_t bytes[GDB_REGISTERS_SIZE];
    gdb_registers_to_bytes(&fake_.state, &fake_.fpu, bytes);
    EXPECT_EQ(packets[0], Hex(std::string((const char *)bytes, sizeof bytes)));

    // Every run length comes back intact, including those whose count
    // character would be '#' or '$' (Packets() checks the framing).
    for (size_t run = 1; run <= 300; run++) {
        fake_.monitor_output = std::string(run, 'w'); // hex "7777..."
        std::vector<std::string> replies = Packets(Feed(Frame("qRcmd," + Hex("r"))));
        ASSERT_GE(replies.size(), 2u);
        std::string text;
        for (size_t i = 0; i + 1 < replies.size(); i++)
            text += Unhex(replies[i].substr(1));
        ASSERT_EQ(text, fake_.monitor_output) << run;
    }
}

TEST_F(GdbstubTest, RejectsAPacketLongerThanPacketSize)
{
    std::string payload = "M400000,1:" + std::string(GDB_PACKET_SIZE, '0');
    EXPECT_EQ(Ask(payload), "E22");
    EXPECT_EQ(Ask("qC"), "QC1"); // and carries on
}

TEST_F(GdbstubTest, AcceptsAPacketOfExactlyPacketSize)
{
    // An M whose data fills the packet exactly, into enough mapped pages.
    constexpr uint64_t start = 0x500000;
    for (uint64_t page = start; page < start + GDB_PACKET_SIZE / 2 + kPage; page += kPage)
        fake_.pages[page] = std::vector<uint8_t>(kPage);
    char head[32];
    // "M0500000,fff9:" is 14 characters; the data fills the rest.
    int head_length =
        snprintf(head, sizeof head, "M0%" PRIx64 ",%x:", start, (GDB_PACKET_SIZE - 14) / 2);
    ASSERT_EQ(head_length, 14);
    std::string payload = head + std::string(GDB_PACKET_SIZE - head_length, '1');
    ASSERT_EQ(payload.size(), (size_t)GDB_PACKET_SIZE);
    ASSERT_EQ((GDB_PACKET_SIZE - head_length) % 2, 0);
    EXPECT_EQ(Ask(payload), "OK");
    EXPECT_EQ(*fake_.Byte(start + 0x1000), 0x11);
}

TEST_F(GdbstubTest, UnknownPacketsGetAnEmptyReply)
{
    EXPECT_EQ(Ask("qNoSuchThing"), "");
    EXPECT_EQ(Ask("vNoSuchThing"), "");
    EXPECT_EQ(Ask("!"), "");
    EXPECT_EQ(Ask(""), "");
    EXPECT_EQ(Ask(std::string("\xff\x01", 2)), "");
    EXPECT_EQ(Ask("vMustReplyEmpty"), "");
    EXPECT_EQ(Ask("qCx"), ""); // not qC
}

// ---- registers -----------------------------------------------------------

struct XmlCount {
    int registers = 0;
    int features = 0;
    unsigned bits = 0;
    int next_regnum = 0;
    bool regnums_in_order = true;
    bool names_lowercase = true;
    std::vector<std::string> names;
    std::vector<std::string> feature_names;
    std::string element;
    std::string architecture;
};

void XmlStart(GMarkupParseContext *, const gchar *element, const gchar **names,
              const gchar **values, gpointer data, GError **)
{
    XmlCount *count = static_cast<XmlCount *>(data);
    count->element = element;
    if (strcmp(element, "feature") == 0) {
        count->features++;
        for (int i = 0; names[i]; i++)
            if (strcmp(names[i], "name") == 0)
                count->feature_names.push_back(values[i]);
    }
    if (strcmp(element, "reg") != 0)
        return;
    count->registers++;
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], "bitsize") == 0)
            count->bits += atoi(values[i]);
        if (strcmp(names[i], "regnum") == 0 && atoi(values[i]) != count->next_regnum++)
            count->regnums_in_order = false;
        if (strcmp(names[i], "name") == 0) {
            count->names.push_back(values[i]);
            for (const char *c = values[i]; *c; c++)
                if (g_ascii_isupper(*c))
                    count->names_lowercase = false;
        }
    }
}

void XmlText(GMarkupParseContext *, const gchar *text, gsize length, gpointer data, GError **)
{
    XmlCount *count = static_cast<XmlCount *>(data);
    if (count->element == "architecture")
        count->architecture.append(text, length);
}

void XmlEnd(GMarkupParseContext *, const gchar *, gpointer data, GError **)
{
    static_cast<XmlCount *>(data)->element.clear();
}

XmlCount ParseTargetXml(const std::string &xml)
{
    GMarkupParser parser{};
    parser.start_element = XmlStart;
    parser.end_element = XmlEnd;
    parser.text = XmlText;
    XmlCount count;
    GMarkupParseContext *context =
        g_markup_parse_context_new(&parser, (GMarkupParseFlags)0, &count, nullptr);
    GError *error = nullptr;
    // GMarkup does not do DOCTYPE; skip the prologue.
    std::string body = xml.substr(xml.find("<target"));
    bool ok = g_markup_parse_context_parse(context, body.data(), body.size(), &error) &&
              g_markup_parse_context_end_parse(context, &error);
    EXPECT_TRUE(ok) << (error ? error->message : "");
    if (error)
        g_error_free(error);
    g_markup_parse_context_free(context);
    return count;
}

std::string ReadWholeObject(GdbstubTest *, std::function<std::string(const std::string &)> ask,
                            const std::string &prefix, size_t chunk)
{
    std::string all;
    for (int guard = 0; guard < 10000; guard++) {
        char range[64];
        snprintf(range, sizeof range, "%zx,%zx", all.size(), chunk);
        std::string reply = ask(prefix + range);
        EXPECT_FALSE(reply.empty());
        if (reply.empty() || (reply[0] != 'm' && reply[0] != 'l'))
            return all + "<bad reply " + reply + ">";
        std::string data = Unescape(reply.substr(1));
        EXPECT_LE(data.size(), chunk);
        all += data;
        if (reply[0] == 'l')
            break;
    }
    return all;
}

TEST_F(GdbstubTest, TargetXmlIsWellFormedAndMatchesTheGPacket)
{
    std::string xml = gdb_target_xml(false);
    XmlCount count = ParseTargetXml(xml);
    EXPECT_EQ(count.architecture, "i386:x86-64");
    EXPECT_EQ(count.registers, GDB_REGISTER_COUNT);
    EXPECT_TRUE(count.regnums_in_order);
    EXPECT_TRUE(count.names_lowercase);
    EXPECT_EQ(count.bits / 8, (unsigned)GDB_REGISTERS_SIZE);
    EXPECT_EQ(count.feature_names,
              (std::vector<std::string>{"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
                                        "org.gnu.gdb.i386.linux", "org.gnu.gdb.i386.segments",
                                        "org.gnu.gdb.i386.avx"}));
    for (const char *name : {"rax", "r15", "rip", "eflags", "cs", "gs", "st0", "st7", "fctrl",
                             "fop", "xmm0", "xmm15", "mxcsr", "orig_rax", "fs_base", "gs_base"})
        EXPECT_NE(std::find(count.names.begin(), count.names.end(), name), count.names.end())
            << name;
    // The g packet is exactly as long as the description says: a longer one
    // is gdb's fatal "Remote 'g' packet reply is too long".
    EXPECT_EQ(Ask("g").size(), 2u * count.bits / 8);
}

TEST_F(GdbstubTest, TargetXmlIsServedInChunks)
{
    auto ask = [this](const std::string &p) { return Ask(p); };
    for (size_t chunk : {0x10, 0x100, 0x7ff, 0x10000}) {
        std::string xml = ReadWholeObject(this, ask, "qXfer:features:read:target.xml:", chunk);
        EXPECT_EQ(xml, gdb_target_xml(false)) << chunk;
    }
    EXPECT_EQ(Ask("qXfer:features:read:target.xml:ffffff,10"), "l");
    EXPECT_EQ(Ask("qXfer:features:read:other.xml:0,10"), "E00");
    EXPECT_EQ(Ask("qXfer:features:read:target.xml:0"), "E22");
    EXPECT_EQ(Ask("qXfer:features:write:target.xml:0,1:x"), "");
}

TEST_F(GdbstubTest, GPacketCarriesTheRealValues)
{
    fake_.state.rax = 0x1122334455667788ULL;
    fake_.state.r15 = 0xf15;
    fake_.state.rip = 0x401000;
    fake_.state.rflags = 0x246;
    fake_.state.cs.selector = 0x33;
    fake_.state.ss.selector = 0x2b;
    fake_.state.fs.base = 0x7000;
    fake_.state.gs.base = 0x8000;
    // st0 = 1.0 (valid), st1 = 0 (zero), st2 empty; top = 0.
    const uint8_t one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
    memcpy(fake_.fpu.st[0], one, 10);
    fake_.fpu.ftw = 0x03;
    fake_.fpu.fcw = 0x37f;
    fake_.fpu.fip = 0x123400005678ULL;
    fake_.fpu.fop = 0x7ff;
    fake_.fpu.xmm[15][0] = 0xaa;
    fake_.fpu.mxcsr = 0x1f80;

    std::string g = Unhex(Ask("g"));
    ASSERT_EQ(g.size(), (size_t)GDB_REGISTERS_SIZE);
    auto reg = [&](int regnum) {
        size_t size;
        int offset = gdb_register_offset(regnum, &size);
        return g.substr(offset, size);
    };
    EXPECT_EQ(LittleEndian(reg(0)), 0x1122334455667788ULL);
    EXPECT_EQ(LittleEndian(reg(15)), 0xf15u);
    EXPECT_EQ(LittleEndian(reg(16)), 0x401000u);
    EXPECT_EQ(reg(17).size(), 4u);
    EXPECT_EQ(LittleEndian(reg(17)), 0x246u);
    EXPECT_EQ(LittleEndian(reg(18)), 0x33u);
    EXPECT_EQ(LittleEndian(reg(19)), 0x2bu);
    EXPECT_EQ(reg(24), std::string((const char *)one, 10));
    EXPECT_EQ(LittleEndian(reg(32)), 0x37fu);
    // Full tag word: st0 valid (00), st1 zero (01), the rest empty (11).
    EXPECT_EQ(LittleEndian(reg(34)), 0xfff4u);
    EXPECT_EQ(LittleEndian(reg(35)), 0x1234u);
    EXPECT_EQ(LittleEndian(reg(36)), 0x5678u);
    EXPECT_EQ(LittleEndian(reg(39)), 0x7ffu);
    EXPECT_EQ((uint8_t)reg(55)[0], 0xaa);
    EXPECT_EQ(LittleEndian(reg(56)), 0x1f80u);
    EXPECT_EQ(LittleEndian(reg(57)), UINT64_MAX);
    EXPECT_EQ(LittleEndian(reg(58)), 0x7000u);
    EXPECT_EQ(LittleEndian(reg(59)), 0x8000u);
}

TEST_F(GdbstubTest, TagWordFollowsTheStackTop)
{
    // top = 6: physical register 6 is st0.
    fake_.fpu.fsw = 6 << 11;
    fake_.fpu.ftw = 1 << 6;
    const uint8_t one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
    memcpy(fake_.fpu.st[0], one, 10);
    EXPECT_EQ(LittleEndian(Unhex(Ask("p22"))), 0xcfffu);
}

TEST_F(GdbstubTest, GThenGRoundTrips)
{
    fake_.state.rbx = 42;
    fake_.fpu.ftw = 0x81;
    fake_.fpu.fdp = 0xabcdef0012345678ULL;
    FakeTarget before = fake_;
    std::string g = Ask("g");
    EXPECT_EQ(Ask("G" + g), "OK");
    EXPECT_EQ(fake_.register_writes, 1);
    EXPECT_EQ(memcmp(&before.state, &fake_.state, sizeof before.state), 0);
    EXPECT_EQ(fake_.fpu.ftw, 0x81);
    EXPECT_EQ(fake_.fpu.fdp, before.fpu.fdp);
    EXPECT_EQ(Ask("g"), g);

    // Change rax only.
    std::string changed = "efbeadde00000000" + g.substr(16);
    EXPECT_EQ(Ask("G" + changed), "OK");
    EXPECT_EQ(fake_.state.rax, 0xdeadbeefu);
    EXPECT_EQ(fake_.state.rbx, 42u);

    // orig_rax (regnum 57) comes from the target and goes back to it.
    size_t size;
    size_t offset = (size_t)gdb_register_offset(57, &size);
    fake_.orig_rax = 202;
    g = Ask("g");
    EXPECT_EQ(g.substr(2 * offset, 16), "ca00000000000000");
    EXPECT_EQ(
        Ask("G" + g.substr(0, 2 * offset) + "ffffffffffffffff" + g.substr(2 * (offset + size))),
        "OK");
    EXPECT_EQ(fake_.orig_rax, UINT64_MAX);
    EXPECT_EQ(Ask("G" + g.substr(0, 2 * offset)), "OK"); // a prefix leaves it alone
    EXPECT_EQ(fake_.orig_rax, UINT64_MAX);
}

TEST_F(GdbstubTest, GRejectsBadData)
{
    std::string g = Ask("g");
    EXPECT_EQ(Ask("G" + g + "00"), "E22");    // too long
    EXPECT_EQ(Ask("G" + g.substr(1)), "E22"); // odd
    EXPECT_EQ(Ask("Gzz"), "E22");
    EXPECT_EQ(fake_.register_writes, 0);
    EXPECT_EQ(Ask("G0100000000000000"), "OK"); // a prefix sets only rax
    EXPECT_EQ(fake_.state.rax, 1u);
}

TEST_F(GdbstubTest, SingleRegisters)
{
    fake_.state.rip = 0x401234;
    EXPECT_EQ(Ask("p10"), "3412400000000000");
    EXPECT_EQ(Ask("P10=0010400000000000"), "OK");
    EXPECT_EQ(fake_.state.rip, 0x401000u);
    EXPECT_EQ(Ask("P11=02020000"), "OK"); // eflags is 32 bits
    EXPECT_EQ(fake_.state.rflags, 0x202u);
    EXPECT_EQ(Ask("P3a=0000010000000000"), "OK"); // fs_base
    EXPECT_EQ(fake_.state.fs.base, 0x10000u);
    EXPECT_EQ(Ask("P22=ffff0000"), "OK"); // ftag all empty
    EXPECT_EQ(fake_.fpu.ftw, 0);
    EXPECT_EQ(Ask("P22=fcff0000"), "OK"); // physical 0 in use
    EXPECT_EQ(fake_.fpu.ftw, 1);
    EXPECT_EQ(Ask("p39"), "ffffffffffffffff"); // orig_rax: the target's, not the CPU's
    fake_.orig_rax = 202;
    EXPECT_EQ(Ask("p39"), "ca00000000000000");
    EXPECT_EQ(Ask("P39=ffffffffffffffff"), "OK");
    EXPECT_EQ(fake_.orig_rax, UINT64_MAX);

    EXPECT_EQ(Ask("p4c"), "E22"); // no register 76
    EXPECT_EQ(Ask("p"), "E22");
    EXPECT_EQ(Ask("pzz"), "E22");
    EXPECT_EQ(Ask("P10=00"), "E22"); // wrong size
    EXPECT_EQ(Ask("P10"), "E22");    // no value
    EXPECT_EQ(Ask("P10=zz10400000000000"), "E22");
    EXPECT_EQ(Ask("p10000000000000000010"), "E22"); // overflowing number
}

TEST_F(GdbstubTest, EveryRegisterRoundTripsThroughP)
{
    for (int regnum = 0; regnum < GDB_REGISTER_COUNT; regnum++) {
        size_t size;
        gdb_register_offset(regnum, &size);
        std::string value;
        for (size_t i = 0; i < size; i++)
            value += (char)(regnum + i + 1);
        // x87 control registers hold fewer bits than gdb's 32.
        if (regnum >= 32 && regnum <= 39)
            continue;
        char head[16];
        snprintf(head, sizeof head, "P%x=", regnum);
        ASSERT_EQ(Ask(head + Hex(value)), "OK") << regnum;
        snprintf(head, sizeof head, "p%x", regnum);
        std::string back = Unhex(Ask(head));
        if (regnum >= 18 && regnum <= 23) // selectors are 16 bits
            EXPECT_EQ(back.substr(0, 2), value.substr(0, 2)) << regnum;
        else
            EXPECT_EQ(back, value) << gdb_register_name(regnum);
    }
}

TEST_F(GdbstubTest, ThreadSuffixOnRegisterPackets)
{
    EXPECT_EQ(Ask("QThreadSuffixSupported"), "OK");
    fake_.state.rip = 0x401234;
    EXPECT_EQ(Ask("p10;thread:1;"), "3412400000000000");
    EXPECT_EQ(Ask("P10=0010400000000000;thread:1;"), "OK");
    EXPECT_EQ(fake_.state.rip, 0x401000u);
    EXPECT_EQ(Ask("g;thread:1;").size(), 2u * GDB_REGISTERS_SIZE);
}

// ---- AVX-512 registers -----------------------------------------------------

gdb_target_ops MakeAvx512Ops()
{
    gdb_target_ops ops = kFakeOps;
    ops.has_avx512 = [](void *) { return true; };
    ops.avx512 = [](void *opaque, int64_t tid, gdb_avx512_state *state, bool write) {
        if (tid != 1)
            return -ESRCH;
        if (write) {
            Fake(opaque)->avx512 = *state;
            Fake(opaque)->avx512_writes++;
        } else {
            *state = Fake(opaque)->avx512;
        }
        return 0;
    };
    return ops;
}

const gdb_target_ops kAvx512Ops = MakeAvx512Ops();

class GdbstubAvx512Test : public GdbstubTest
{
  protected:
    void SetUp() override
    {
        stub_ = gdbstub_new(&kAvx512Ops, &fake_);
        gdbstub_capture_output(stub_, Capture, &output_);
        // Byte b of zmm r: r * 7 + b * 3 + 1 (xstate_signal's pattern); k: 0x1111 * k + 0x0f0f.
        for (int r = 0; r < 32; r++) {
            for (int b = 32; b < 64; b++) {
                uint8_t byte = (uint8_t)(r * 7 + b * 3 + 1);
                if (r < 16)
                    fake_.avx512.zmm_hi256[r][b - 32] = byte;
                else
                    fake_.avx512.hi16_zmm[r - 16][b] = byte;
            }
            for (int b = 0; b < 32 && r >= 16; b++)
                fake_.avx512.hi16_zmm[r - 16][b] = (uint8_t)(r * 7 + b * 3 + 1);
        }
        for (int k = 0; k < 8; k++) {
            uint64_t value = 0x1111 * k + 0x0f0f;
            memcpy(fake_.avx512.opmask[k], &value, 8);
        }
    }

    // Bytes from..to of zmm r in the pattern.
    static std::string Pattern(int r, int from, int to)
    {
        std::string bytes;
        for (int b = from; b < to; b++)
            bytes += (char)(r * 7 + b * 3 + 1);
        return bytes;
    }

    static std::string P(int regnum)
    {
        char text[16];
        snprintf(text, sizeof text, "p%x", regnum);
        return text;
    }
};

TEST_F(GdbstubAvx512Test, TargetXmlHasGdbsAvx512Feature)
{
    auto ask = [this](const std::string &p) { return Ask(p); };
    std::string xml = ReadWholeObject(this, ask, "qXfer:features:read:target.xml:", 0x7ff);
    EXPECT_EQ(xml, gdb_target_xml(true));
    XmlCount count = ParseTargetXml(xml);
    EXPECT_EQ(count.registers, GDB_AVX512_REGISTER_COUNT);
    EXPECT_TRUE(count.regnums_in_order);
    EXPECT_EQ(count.bits / 8, (unsigned)GDB_AVX512_REGISTERS_SIZE);
    EXPECT_EQ(count.feature_names.back(), "org.gnu.gdb.i386.avx512");
    // gdb's 64bit-avx512.xml order, as a native AMD64 process has it (regnum 76 on).
    EXPECT_EQ(gdb_register_name(76), std::string("xmm16"));
    EXPECT_EQ(gdb_register_name(107), std::string("ymm31h"));
    EXPECT_EQ(gdb_register_name(108), std::string("k0"));
    EXPECT_EQ(gdb_register_name(116), std::string("zmm0h"));
    EXPECT_EQ(gdb_register_name(147), std::string("zmm31h"));
    EXPECT_NE(xml.find("<reg name=\"zmm31h\" bitsize=\"256\" type=\"v2ui128\" regnum=\"147\""),
              std::string::npos);
    EXPECT_NE(xml.find("<vector id=\"v2ui128\" type=\"uint128\" count=\"2\"/>"), std::string::npos);
    EXPECT_EQ(Ask("g").size(), 2u * count.bits / 8);
}

TEST_F(GdbstubAvx512Test, RegistersReadFromTheirComponents)
{
    EXPECT_EQ(Unhex(Ask(P(76 + 4))), Pattern(20, 0, 16));  // xmm20
    EXPECT_EQ(Unhex(Ask(P(92 + 4))), Pattern(20, 16, 32)); // ymm20h
    EXPECT_EQ(Ask(P(109)), "2020000000000000");            // k1
    EXPECT_EQ(Unhex(Ask(P(116 + 5))), Pattern(5, 32, 64)); // zmm5h
    EXPECT_EQ(Unhex(Ask(P(147))), Pattern(31, 32, 64));    // zmm31h
    std::string g = Unhex(Ask("g"));
    size_t size;
    int offset = gdb_register_offset(116 + 5, &size);
    EXPECT_EQ(g.substr(offset, size), Pattern(5, 32, 64));
    offset = gdb_register_offset(108 + 3, &size);
    EXPECT_EQ(LittleEndian(g.substr(offset, size)), 0x4242u); // k3
    EXPECT_EQ(Ask(P(148)), "E22");
}

TEST_F(GdbstubAvx512Test, WritesReachTheirComponents)
{
    gdb_avx512_state before = fake_.avx512;
    std::string g = Ask("g");
    EXPECT_EQ(Ask("G" + g), "OK");
    EXPECT_EQ(memcmp(&before, &fake_.avx512, sizeof before), 0);
    EXPECT_EQ(fake_.avx512_writes, 1);
    EXPECT_EQ(Ask("G" + g.substr(0, 2 * GDB_REGISTERS_SIZE)), "OK"); // no AVX-512 part
    EXPECT_EQ(fake_.avx512_writes, 1);

    EXPECT_EQ(Ask("P6e=cdab000000000000"), "OK"); // k2
    EXPECT_EQ(LittleEndian(std::string((char *)fake_.avx512.opmask[2], 8)), 0xabcdu);
    EXPECT_EQ(Ask("P7b=" + std::string(64, 'e')), "OK"); // zmm7h
    EXPECT_EQ(std::string((char *)fake_.avx512.zmm_hi256[7], 32), std::string(32, '\xee'));
    EXPECT_EQ(Ask("P6b=" + std::string(32, '1')), "OK"); // ymm31h
    EXPECT_EQ(std::string((char *)fake_.avx512.hi16_zmm[15] + 16, 16), std::string(16, '\x11'));
    EXPECT_EQ(Ask("P6b=11"), "E22");     // wrong size
    EXPECT_EQ(fake_.register_writes, 2); // the two Gs: P wrote only AVX-512 state

    for (int regnum = GDB_REGISTER_COUNT; regnum < GDB_AVX512_REGISTER_COUNT; regnum++) {
        size_t size;
        gdb_register_offset(regnum, &size);
        std::string value;
        for (size_t i = 0; i < size; i++)
            value += (char)(regnum + i);
        char head[16];
        snprintf(head, sizeof head, "P%x=", regnum);
        ASSERT_EQ(Ask(head + Hex(value)), "OK") << regnum;
        EXPECT_EQ(Unhex(Ask(P(regnum))), value) << gdb_register_name(regnum);
    }
}

// ---- memory --------------------------------------------------------------

TEST_F(GdbstubTest, ReadsMemory)
{
    EXPECT_EQ(Ask("m400000,4"), "00010203");
    EXPECT_EQ(Ask("m400000,0"), "");
    EXPECT_FALSE(fake_.access_crossed_page);
}

TEST_F(GdbstubTest, ReadsAcrossAPageBoundaryPageByPage)
{
    std::string expected;
    for (uint64_t address = 0x400ffe; address < 0x401002; address++)
        expected += (char)*fake_.Byte(address);
    EXPECT_EQ(Ask("m400ffe,4"), Hex(expected));
    EXPECT_FALSE(fake_.access_crossed_page);
}

TEST_F(GdbstubTest, UnmappedMemoryIsE14AndAPartialReadGivesThePrefix)
{
    EXPECT_EQ(Ask("m" + std::to_string(0) + "403000,4"), "E14");
    EXPECT_EQ(fake_.Byte(kHole), nullptr);
    EXPECT_EQ(Ask("m0,1"), "E14");
    // The last two bytes before the hole, as gdbserver answers a partial read.
    std::string prefix{(char)*fake_.Byte(0x402ffe), (char)*fake_.Byte(0x402fff)};
    EXPECT_EQ(Ask("m402ffe,4"), Hex(prefix));
}

TEST_F(GdbstubTest, HugeReadsAreClampedNotFatal)
{
    std::string reply = Ask("m400000,ffffffff");
    EXPECT_GT(reply.size(), 0u);
    EXPECT_LE(reply.size(), (size_t)GDB_PACKET_SIZE);
    EXPECT_EQ(reply.substr(0, 8), "00010203");
}

TEST_F(GdbstubTest, MalformedMemoryRequestsAreE22)
{
    EXPECT_EQ(Ask("m"), "E22");
    EXPECT_EQ(Ask("m400000"), "E22");
    EXPECT_EQ(Ask("m400000,"), "E22");
    EXPECT_EQ(Ask("m,4"), "E22");
    EXPECT_EQ(Ask("mzz,4"), "E22");
    EXPECT_EQ(Ask("m400000,4x"), "E22");
    EXPECT_EQ(Ask("mffffffffffffffff,2"), "E22");  // wraps around
    EXPECT_EQ(Ask("m10000000000000000,1"), "E22"); // more than 64 bits
    EXPECT_EQ(Ask(std::string("m400000\0,4", 10)), "E22");
    EXPECT_EQ(Ask("M400000,2:00"), "E22"); // too little data
    EXPECT_EQ(Ask("M400000,1:0g"), "E22");
    EXPECT_EQ(Ask("M0,8000000000000001:00"), "E22"); // 2 * length wraps around
    EXPECT_EQ(Ask("X0,ffffffffffffffff:0"), "E22");
    EXPECT_EQ(Ask("M400000,1"), "E22");
    EXPECT_EQ(Ask("X400000,2:a"), "E22");
    EXPECT_EQ(Ask("X400000,1:}"), "E22"); // dangling escape
    EXPECT_EQ(Ask("X400000"), "E22");
}

TEST_F(GdbstubTest, WritesMemoryWithM)
{
    EXPECT_EQ(Ask("M400ffe,4:deadbeef"), "OK");
    EXPECT_EQ(*fake_.Byte(0x400ffe), 0xde);
    EXPECT_EQ(*fake_.Byte(0x401001), 0xef);
    EXPECT_FALSE(fake_.access_crossed_page);
    EXPECT_EQ(Ask("M403000,1:00"), "E14");
    EXPECT_EQ(Ask("M400000,0:"), "OK");
}

TEST_F(GdbstubTest, WritesBinaryMemoryWithEscapes)
{
    EXPECT_EQ(Ask("X400000,0:"), "OK"); // gdb's probe for X
    // '#', '$', '}' and '*' must come escaped; 0 and 0xff come raw.
    std::string data = std::string("}\x03}\x04}]}\x0a", 8) + std::string("\0\xff", 2);
    EXPECT_EQ(Ask("X400ffd,6:" + data), "OK");
    const uint8_t expected[] = {'#', '$', '}', '*', 0, 0xff};
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(*fake_.Byte(0x400ffd + i), expected[i]) << i;
    EXPECT_FALSE(fake_.access_crossed_page);
    EXPECT_EQ(Ask("X403000,1:a"), "E14");
}

// ---- execution -----------------------------------------------------------

TEST_F(GdbstubTest, ContinueRepliesOnlyWhenTheGuestStops)
{
    EnableSwbreak();
    EXPECT_EQ(Feed(Frame("c")), "+");
    ASSERT_EQ(fake_.resumes.size(), 1u);
    EXPECT_EQ(fake_.resumes[0].mode, GDB_RESUME_CONTINUE);
    EXPECT_EQ(fake_.resumes[0].signal, 0);
    Stop(GDB_STOP_SIGNAL, 5, GDB_STOP_REASON_SWBREAK);
    EXPECT_EQ(output_, Frame("T05thread:1;swbreak:;"));
    // Exactly one stop reply per resume.
    Stop(GDB_STOP_SIGNAL, 5, GDB_STOP_REASON_SWBREAK);
    EXPECT_EQ(output_, "");
    EXPECT_EQ(Ask("?"), "T05thread:1;swbreak:;");
}

// As gdbserver: a stop reply carries rbp, rsp and rip (amd64's registers 6, 7
// and 0x10, target byte order), so gdb needs no `g` after each stop or step.
TEST_F(GdbstubTest, StopRepliesExpediteFrameRegisters)
{
    fake_.expedite = true;
    fake_.state.rbp = 0x7fffffffe590;
    fake_.state.rsp = 0x7fffffffe580;
    fake_.state.rip = 0x40161c;
    Ask("s");
    Stop(GDB_STOP_SIGNAL, 5, GDB_STOP_REASON_NONE);
    const std::string expected = "T05thread:1;06:90e5ffffff7f0000;07:80e5ffffff7f0000;"
                                 "10:1c16400000000000;";
    EXPECT_EQ(Packets(output_), std::vector<std::string>{expected});
    EXPECT_EQ(Ask("?"), expected);
    // An exit has no registers to send.
    Ask("c");
    Stop(GDB_STOP_EXITED, 0, GDB_STOP_REASON_NONE);
    EXPECT_EQ(output_, Frame("W00"));
}

TEST_F(GdbstubTest, SwbreakOnlyForADebuggerThatAskedForIt)
{
    Ask("c");
    Stop(GDB_STOP_SIGNAL, 5, GDB_STOP_REASON_SWBREAK);
    EXPECT_EQ(output_, Frame("T05thread:1;"));
}

TEST_F(GdbstubTest, ContinueAtAnAddressMovesRip)
{
    EXPECT_EQ(Feed(Frame("c401000")), "+");
    EXPECT_EQ(fake_.state.rip, 0x401000u);
    ASSERT_EQ(fake_.resumes.size(), 1u);
    Stop(GDB_STOP_SIGNAL, 5);
    EXPECT_EQ(Feed(Frame("cxyz")).substr(1), Frame("E22"));
}

TEST_F(GdbstubTest, StepAndSignals)
{
    Ask("s");
    ASSERT_EQ(fake_.resumes.size(), 1u);
    EXPECT_EQ(fake_.resumes[0].mode, GDB_RESUME_STEP);
    Stop(GDB_STOP_SIGNAL, 5);
    EXPECT_EQ(output_, Frame("T05thread:1;"));

    Ask("C0b");
    EXPECT_EQ(fake_.resumes[1].mode, GDB_RESUME_CONTINUE);
    EXPECT_EQ(fake_.resumes[1].signal, 11);
    Stop(GDB_STOP_SIGNAL, 11);
    EXPECT_EQ(output_, Frame("T0bthread:1;"));

    Ask("S05;402000");
    EXPECT_EQ(fake_.resumes[2].mode, GDB_RESUME_STEP);
    EXPECT_EQ(fake_.resumes[2].signal, 5);
    EXPECT_EQ(fake_.state.rip, 0x402000u);
    Stop(GDB_STOP_SIGNAL, 5);

    EXPECT_EQ(Ask("C"), "E22");
    EXPECT_EQ(Ask("C100"), "E22");
    EXPECT_EQ(fake_.resumes.size(), 3u);
}

TEST_F(GdbstubTest, VCont)
{
    EXPECT_EQ(Ask("vCont?"), "vCont;c;C;s;S;r");
    Ask("vCont;s:1;c");
    EXPECT_EQ(fake_.resumes.back().mode, GDB_RESUME_STEP);
    Stop(GDB_STOP_SIGNAL, 5);
    Ask("vCont;r401000,401010:1");
    EXPECT_EQ(fake_.resumes.back().mode, GDB_RESUME_RANGE_STEP);
    EXPECT_EQ(fake_.resumes.back().start, 0x401000u);
    EXPECT_EQ(fake_.resumes.back().end, 0x401010u);
    Stop(GDB_STOP_SIGNAL, 5);
    Ask("vCont;C0e:-1");
    EXPECT_EQ(fake_.resumes.back().mode, GDB_RESUME_CONTINUE);
    EXPECT_EQ(fake_.resumes.back().signal, 14);
    Stop(GDB_STOP_SIGNAL, 5);
    Ask("vCont;s:2;c:1"); // the action for thread 2 is not ours
    EXPECT_EQ(fake_.resumes.back().mode, GDB_RESUME_CONTINUE);
    Stop(GDB_STOP_SIGNAL, 5);
    EXPECT_EQ(fake_.resumes.size(), 4u);

    for (const char *bad : {"vCont", "vCont;", "vCont;x", "vCont;C", "vCont;r1",
                            "vCont;c:", "vCont;s:2", "vCont;c:zz"})
        EXPECT_EQ(Ask(bad), "E22") << bad;
    EXPECT_EQ(fake_.resumes.size(), 4u);
}

TEST_F(GdbstubTest, AFailedResumeIsAnError)
{
    fake_.resume_result = -EIO;
    EXPECT_EQ(Ask("c"), "E05");
    Ask("?");
    fake_.resume_result = 0;
    Ask("c");
    Stop(GDB_STOP_SIGNAL, 5);
    EXPECT_EQ(output_, Frame("T05thread:1;"));
}

TEST_F(GdbstubTest, CtrlCInterruptsOnce)
{
    Ask("c");
    EXPECT_EQ(Feed("\x03\x03"), "");
    EXPECT_EQ(fake_.interrupts, 1);
    Stop(GDB_STOP_SIGNAL, 2);
    EXPECT_EQ(output_, Frame("T02thread:1;"));
}

// As gdbserver keeps the SIGINT pending: a Ctrl-C between a stop reply and
// the next resume stops that resume at once, whatever came in between.
TEST_F(GdbstubTest, CtrlCWhileStoppedStopsTheNextResume)
{
    EXPECT_EQ(Feed("\x03"), "");
    EXPECT_EQ(fake_.interrupts, 0);
    EXPECT_EQ(Ask("g").size(), 2u * GDB_REGISTERS_SIZE);
    Ask("vCont;c");
    EXPECT_EQ(fake_.resumes.size(), 1u);
    EXPECT_EQ(fake_.interrupts, 1);
    Stop(GDB_STOP_SIGNAL, 2);
    EXPECT_EQ(output_, Frame("T02thread:1;"));
    Ask("c"); // used up: the next resume runs
    EXPECT_EQ(fake_.interrupts, 1);
}

gdb_target_ops MakeInterruptAtResumeOps()
{
    gdb_target_ops ops = kFakeOps;
    ops.interrupt_at_resume = [](void *opaque) {
        Fake(opaque)->interrupts_at_resume.push_back(Fake(opaque)->resumes.size());
    };
    return ops;
}

const gdb_target_ops kInterruptAtResumeOps = MakeInterruptAtResumeOps();

class GdbstubInterruptAtResumeTest : public GdbstubTest
{
  protected:
    void SetUp() override
    {
        stub_ = gdbstub_new(&kInterruptAtResumeOps, &fake_);
        gdbstub_capture_output(stub_, Capture, &output_);
    }
};

// A target that takes the queued Ctrl-C with the resume is told before the
// resume, and never gets a separate interrupt for it.
TEST_F(GdbstubInterruptAtResumeTest, CtrlCWhileStoppedGoesWithTheResume)
{
    EXPECT_EQ(Feed("\x03"), "");
    Ask("vCont;c");
    ASSERT_EQ(fake_.interrupts_at_resume.size(), 1u);
    EXPECT_EQ(fake_.interrupts_at_resume[0], 0u); // before the resume
    EXPECT_EQ(fake_.resumes.size(), 1u);
    EXPECT_EQ(fake_.interrupts, 0);
    EXPECT_EQ(Feed("\x03"), ""); // the stop is under way already
    EXPECT_EQ(fake_.interrupts, 0);
    Stop(GDB_STOP_SIGNAL, 2);
    EXPECT_EQ(output_, Frame("T02thread:1;"));
    Ask("c"); // used up
    EXPECT_EQ(fake_.interrupts_at_resume.size(), 1u);
}

TEST_F(GdbstubTest, PacketsWhileRunningDoNotTouchTheGuest)
{
    Ask("c");
    EXPECT_EQ(Ask("g"), "E16");
    EXPECT_EQ(Ask("m400000,1"), "E16");
    EXPECT_EQ(Ask("c"), "E16");
    EXPECT_EQ(fake_.resumes.size(), 1u);
    Stop(GDB_STOP_SIGNAL, 5);
    EXPECT_EQ(output_, Frame("T05thread:1;"));
}

TEST_F(GdbstubTest, StopReasons)
{
    EnableSwbreak();
    struct {
        gdb_stop_reason reason;
        const char *reply;
    } cases[] = {
        {GDB_STOP_REASON_HWBREAK, "T05thread:1;hwbreak:;"},
        {GDB_STOP_REASON_WATCH, "T05thread:1;watch:7fff1000;"},
        {GDB_STOP_REASON_RWATCH, "T05thread:1;rwatch:7fff1000;"},
        {GDB_STOP_REASON_AWATCH, "T05thread:1;awatch:7fff1000;"},
    };
    for (auto &c : cases) {
        Ask("c");
        Stop(GDB_STOP_SIGNAL, 5, c.reason, 0x7fff1000);
        EXPECT_EQ(output_, Frame(c.reply));
    }
}

TEST_F(GdbstubTest, ThreadsInStopReplyForLldb)
{
    EXPECT_EQ(Ask("QListThreadsInStopReply"), "OK");
    Ask("c");
    Stop(GDB_STOP_SIGNAL, 5);
    EXPECT_EQ(output_, Frame("T05thread:1;threads:1;"));
}

TEST_F(GdbstubTest, ExitAndDeathPackets)
{
    Ask("c");
    Stop(GDB_STOP_EXITED, 0, GDB_STOP_REASON_NONE, 0, 0x103);
    EXPECT_EQ(output_, Frame("W03"));
    EXPECT_EQ(Ask("?"), "W03");
    EXPECT_EQ(Ask("c"), "E03");
    EXPECT_EQ(Ask("T1"), "E03");
}

TEST_F(GdbstubTest, KilledBySignal)
{
    Ask("c");
    Stop(GDB_STOP_KILLED, 11);
    EXPECT_EQ(output_, Frame("X0b"));
}

TEST_F(GdbstubTest, AStopWithNoDebuggerIsRememberedForQuestionMark)
{
    gdbstub *alone = gdbstub_new(&kFakeOps, &fake_);
    gdb_stop stop{};
    stop.kind = GDB_STOP_SIGNAL;
    stop.signal = 11;
    gdbstub_notify_stop(alone, &stop);
    std::string out;
    gdbstub_capture_output(alone, Capture, &out);
    std::string question = Frame("?");
    gdbstub_feed(alone, question.data(), question.size());
    EXPECT_EQ(out, "+" + Frame("T0bthread:1;"));
    gdbstub_free(alone);
}

TEST_F(GdbstubTest, KillDetach)
{
    EXPECT_EQ(Feed(Frame("k")), "+");
    EXPECT_EQ(fake_.kills, 1);
    EXPECT_EQ(Ask("vKill;1"), "OK");
    EXPECT_EQ(fake_.kills, 2);
    EXPECT_EQ(Ask("D"), "OK");
    EXPECT_EQ(fake_.detaches, 1);
    EXPECT_EQ(fake_.disconnects, 0);
}

TEST_F(GdbstubTest, DetachEndsTheSessionAndANewDebuggerStopsTheGuest)
{
    Ask("QStartNoAckMode");
    // The rest of the bytes after D belong to nobody.
    std::string out = Feed(Frame("D") + Frame("qC"));
    EXPECT_EQ(out, Frame("OK"));
    // The next debugger starts in ack mode; the guest runs on, so `?` stops it.
    EXPECT_EQ(Feed(Frame("?")), "+");
    EXPECT_EQ(fake_.interrupts, 1);
    Stop(GDB_STOP_SIGNAL, 2);
    EXPECT_EQ(output_, Frame("T02thread:1;"));
}

// ---- breakpoints ---------------------------------------------------------

TEST_F(GdbstubTest, BreakpointsGoThroughTheTarget)
{
    EXPECT_EQ(Ask("Z0,401000,1"), "OK");
    EXPECT_EQ(Ask("z0,401000,1"), "OK");
    EXPECT_EQ(Ask("Z1,401004,1"), "OK");
    EXPECT_EQ(Ask("Z2,7fff0000,8"), "OK");
    EXPECT_EQ(Ask("Z4,7fff0000,4;X2,ab"), "OK"); // conditions ignored
    ASSERT_EQ(fake_.breakpoints.size(), 5u);
    EXPECT_TRUE(fake_.breakpoints[0].insert);
    EXPECT_EQ(fake_.breakpoints[0].type, GDB_BREAKPOINT_SOFTWARE);
    EXPECT_EQ(fake_.breakpoints[0].address, 0x401000u);
    EXPECT_FALSE(fake_.breakpoints[1].insert);
    EXPECT_EQ(fake_.breakpoints[2].type, GDB_BREAKPOINT_HARDWARE);
    EXPECT_EQ(fake_.breakpoints[3].type, GDB_WATCHPOINT_WRITE);
    EXPECT_EQ(fake_.breakpoints[3].kind, 8u);
    EXPECT_EQ(fake_.breakpoints[4].type, GDB_WATCHPOINT_ACCESS);
}

TEST_F(GdbstubTest, ConditionsAndCommandsGoWithZ0AndZ1)
{
    EXPECT_NE(Ask("qSupported:swbreak+").find(";ConditionalBreakpoints+;BreakpointCommands+"),
              std::string::npos);
    EXPECT_EQ(Ask("Z0,401000,1;X3,220127X2,0027"), "OK");
    EXPECT_EQ(Ask("Z1,401004,1;cmds:1,X1,27"), "OK");
    EXPECT_EQ(Ask("Z0,401008,1;X1,27;cmds:0,X1,27X1,27"), "OK");
    ASSERT_EQ(fake_.conditions.size(), 3u);
    EXPECT_EQ(fake_.conditions[0], 2u);
    EXPECT_EQ(fake_.first_condition, (std::vector<uint8_t>{0x22, 0x01, 0x27}));
    EXPECT_EQ(fake_.commands[1], 1u);
    EXPECT_EQ(fake_.conditions[2], 1u);
    EXPECT_EQ(fake_.commands[2], 2u);
    EXPECT_FALSE(fake_.persist);
    // Hostile lists: refused, the target never asked.
    for (const char *bad :
         {"Z0,401000,1;X", "Z0,401000,1;Xffffffffffffffff,00", "Z0,401000,1;X4,00",
          "Z0,401000,1;cmds:1,", "Z0,401000,1;Q", "Z1,401000,1;X2,zzzz"})
        EXPECT_EQ(Ask(bad), "E22") << bad;
    EXPECT_EQ(fake_.conditions.size(), 3u);
}

TEST_F(GdbstubTest, BreakpointErrors)
{
    EXPECT_EQ(Ask("Z5,401000,1"), ""); // a type nobody offers
    EXPECT_EQ(Ask("Z"), "E22");
    EXPECT_EQ(Ask("Z0"), "E22");
    EXPECT_EQ(Ask("Z0,401000"), "E22");
    EXPECT_EQ(Ask("Z0,zz,1"), "E22");
    EXPECT_EQ(Ask("Z0,401000,1x"), "E22");
    EXPECT_TRUE(fake_.breakpoints.empty());
    fake_.breakpoint_result = -ENOTSUP;
    EXPECT_EQ(Ask("Z3,7fff0000,4"), "");
    fake_.breakpoint_result = -ENOSPC;
    EXPECT_EQ(Ask("Z1,401000,1"), "E28");
    fake_.breakpoint_result = -EFAULT;
    EXPECT_EQ(Ask("Z0,403000,1"), "E14");
    fake_.breakpoint_result = -EINVAL;
    EXPECT_EQ(Ask("Z2,401000,3"), "E22");
}

// ---- session queries -----------------------------------------------------

TEST_F(GdbstubTest, QSupported)
{
    std::string reply = Ask("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+");
    std::vector<std::string> features;
    gchar **items = g_strsplit(reply.c_str(), ";", -1);
    for (gchar **at = items; *at; at++)
        features.push_back(*at);
    g_strfreev(items);
    char packet_size[32];
    snprintf(packet_size, sizeof packet_size, "PacketSize=%x", GDB_PACKET_SIZE);
    for (const std::string &expected : std::vector<std::string>{
             packet_size, "qXfer:features:read+", "qXfer:exec-file:read+", "qXfer:libraries:read+",
             "qXfer:auxv:read+", "QStartNoAckMode+", "swbreak+", "hwbreak+", "vContSupported+",
             "QCatchSyscalls+", "QPassSignals+", "QProgramSignals+"})
        EXPECT_NE(std::find(features.begin(), features.end(), expected), features.end())
            << expected << " in " << reply;
}

TEST_F(GdbstubTest, CatchSyscalls)
{
    EXPECT_EQ(Ask("QCatchSyscalls:1"), "OK");
    EXPECT_TRUE(fake_.catching);
    EXPECT_TRUE(fake_.caught.empty());
    EXPECT_EQ(Ask("QCatchSyscalls:1;1;e7;3c"), "OK");
    EXPECT_EQ(fake_.caught, (std::vector<uint64_t>{1, 0xe7, 0x3c}));
    EXPECT_EQ(Ask("QCatchSyscalls:0"), "OK");
    EXPECT_FALSE(fake_.catching);
    for (const char *bad : {"QCatchSyscalls", "QCatchSyscalls:2", "QCatchSyscalls:1;zz"})
        EXPECT_EQ(Ask(bad), "E22") << bad;
    Ask("QCatchSyscalls:1;1");
    Ask("c");
    Stop(GDB_STOP_SIGNAL, 5, GDB_STOP_REASON_SYSCALL_ENTRY);
    EXPECT_EQ(output_, Frame("T05thread:1;syscall_entry:0;"));
}

TEST_F(GdbstubTest, SiginfoReadAndWrite)
{
    EXPECT_NE(Ask("qSupported:multiprocess+").find(";qXfer:siginfo:read+;qXfer:siginfo:write+"),
              std::string::npos);
    EXPECT_EQ(Ask("qXfer:siginfo:read::0,80"), "E01"); // no signal at this stop
    fake_.siginfo.assign(128, 0);
    fake_.siginfo[0] = 10;    // si_signo SIGUSR1
    fake_.siginfo[16] = 0x7d; // si_pid
    std::string whole = Ask("qXfer:siginfo:read::0,80");
    ASSERT_EQ(whole.size(), 130u); // 'l', 128 bytes, one of them escaped
    EXPECT_EQ(whole[0], 'l');
    EXPECT_EQ(whole[1], 10);
    std::string part = Ask("qXfer:siginfo:read::10,4");
    ASSERT_EQ(part.size(), 6u); // "m", "}]" for 0x7d, three NULs
    EXPECT_EQ(part[0], 'm');
    EXPECT_EQ(part[1], '}'); // 0x7d goes escaped: "}]"
    // A write of si_signo (escaped '}' decodes too) changes only its bytes.
    EXPECT_EQ(Ask("qXfer:siginfo:write::0:\x0c"), "1");
    EXPECT_EQ(fake_.siginfo[0], 12);
    EXPECT_EQ(fake_.siginfo[16], 0x7d);
    EXPECT_EQ(Ask("qXfer:siginfo:write::7f:ab"), "1"); // cut at the end
    EXPECT_EQ(fake_.siginfo[127], 'a');
    EXPECT_EQ(Ask("qXfer:siginfo:frob::0,4"), "E00");
}

// follow-fork-mode child: gdb detaches the parent while the child waits;
// the child is given the session (the connection, the agreed features) and
// the parent is detached as by any D.
TEST_F(GdbstubTest, FollowForkChildHandsTheSessionOver)
{
    fake_.pid = 0x10;
    Ask("qSupported:multiprocess+;qRelocInsn+;fork-events+;swbreak+");
    Ask("QPassSignals:e;14");
    Ask("vCont;c");
    ForkEvent(0x2a);
    EXPECT_EQ(Ask("Hgp2a.2a"), "OK");
    EXPECT_EQ(Ask("z0,401000,1"), "OK");
    EXPECT_EQ(Ask("Hgp10.10"), "OK");
    EXPECT_EQ(Ask("D;10"), "OK");
    EXPECT_EQ(fake_.followed_child, 0x2a);
    EXPECT_EQ(fake_.released_child, 0);
    EXPECT_EQ(fake_.detaches, 1);
    EXPECT_NE(fake_.follow_session.find(";listen=-1;"), std::string::npos) << fake_.follow_session;
    EXPECT_NE(fake_.follow_session.find(";pass=e.14"), std::string::npos) << fake_.follow_session;
    // A stub that adopts it speaks as this one did, from its first stop on.
    gdbstub *child = gdbstub_new(&kFakeOps, &fake_);
    char *error = nullptr;
    EXPECT_EQ(gdbstub_handover_adopt_fork(child, fake_.follow_session.c_str(), -1, &error), -1);
    EXPECT_NE(std::string(error).find("unusable"), std::string::npos); // conn=-1: no socket
    g_free(error);
    gdbstub_free(child);
}

// detach-on-fork off: the child is kept once gdb asks it something; its
// packets go over the pair (the test plays the child) and its answers, and
// the stop of its resume, come back as gdb's answers.
class KeptChildTest : public GdbstubTest
{
  protected:
    void TearDown() override
    {
        if (fake_.kept_end >= 0)
            close(fake_.kept_end);
        GdbstubTest::TearDown();
    }
    // The next packet the child gets.
    std::string ChildReceives()
    {
        std::string got;
        char byte;
        while (got.size() < 3 || got[got.size() - 3] != '#') {
            if (read(fake_.kept_end, &byte, 1) != 1)
                break;
            got += byte;
        }
        std::vector<std::string> packets = Packets(got);
        return packets.empty() ? "<none>" : packets[0];
    }
    void ChildSays(const std::string &payload)
    {
        std::string frame = Frame(payload);
        EXPECT_EQ(write(fake_.kept_end, frame.data(), frame.size()), (ssize_t)frame.size());
    }
    // The SIGINT stop of the interrupt the stub asked for.
    void StopsForItsInterrupt()
    {
        output_.clear();
        gdb_stop halted{};
        halted.kind = GDB_STOP_SIGNAL;
        halted.signal = 2;
        gdbstub_notify_stop(stub_, &halted);
    }
    // Program 0x10 forks 0x2a, gdb keeps it (reads its registers), and
    // both resume together (schedule-multiple).
    void ResumeWithKeptChild()
    {
        fake_.pid = 0x10;
        Ask("qSupported:multiprocess+;qRelocInsn+;fork-events+");
        Ask("vCont;c");
        ForkEvent(0x2a);
        EXPECT_EQ(Ask("Hgp2a.2a"), "OK");
        EXPECT_EQ(Ask("g"), "<none>"); // gdb keeps it
        EXPECT_EQ(ChildReceives(), "g");
        ChildSays("00112233");
        EXPECT_EQ(Relayed(), "00112233");
        EXPECT_EQ(Ask("vCont;c"), "<none>");
        EXPECT_EQ(ChildReceives(), "vCont;c");
    }
    // What gdb is sent once the main loop has read the child's answer.
    std::string Relayed()
    {
        output_.clear();
        for (int i = 0; i < 100 && Packets(output_).empty(); i++)
            g_main_context_iteration(nullptr, FALSE);
        std::vector<std::string> packets = Packets(output_);
        return packets.empty() ? "<none>" : packets[0];
    }
};

TEST_F(KeptChildTest, PacketsAboutTheChildGoToIt)
{
    fake_.pid = 0x10;
    Ask("qSupported:multiprocess+;qRelocInsn+;fork-events+");
    Ask("vCont;c");
    ForkEvent(0x2a);
    EXPECT_EQ(Ask("Hgp2a.2a"), "OK"); // undecided: answered here
    EXPECT_EQ(Ask("z0,401000,1"), "OK");
    EXPECT_EQ(fake_.kept_child, 0);
    // Its registers: gdb keeps it.
    EXPECT_EQ(Ask("g"), "<none>");
    EXPECT_EQ(fake_.kept_child, 0x2a);
    // The pair has no acks (1), gdb's own connection has them here.
    EXPECT_NE(fake_.follow_session.find(";flags=31;"), std::string::npos) << fake_.follow_session;
    EXPECT_EQ(ChildReceives(), "g");
    ChildSays("00112233");
    EXPECT_EQ(Relayed(), "00112233");
    // The thread list is both processes'.
    ChildSays("mp2a.2a");
    EXPECT_EQ(Ask("qfThreadInfo"), "mp10.10,p2a.2a");
    EXPECT_EQ(ChildReceives(), "qfThreadInfo");
    // Settings every process shares go to it too.
    ChildSays("OK");
    EXPECT_EQ(Ask("QPassSignals:e"), "OK");
    EXPECT_EQ(ChildReceives(), "QPassSignals:e");
    // The program's own registers again after Hg to it.
    EXPECT_EQ(Ask("Hgp10.10"), "OK");
    EXPECT_EQ(Ask("m401000,1"), "01");
    // Its resume goes to it, and so does Ctrl-C; its stop is gdb's answer.
    EXPECT_EQ(Ask("vCont;c:p2a.-1"), "<none>");
    EXPECT_EQ(ChildReceives(), "vCont;c:p2a.-1");
    Feed("\x03");
    char interrupt = 0;
    EXPECT_EQ(read(fake_.kept_end, &interrupt, 1), 1);
    EXPECT_EQ(interrupt, '\x03');
    EXPECT_EQ(fake_.interrupts, 0);
    ChildSays("T02thread:p2a.2a;");
    EXPECT_EQ(Relayed(), "T02thread:p2a.2a;");
    // Both processes in one resume (schedule-multiple): each resumes; the
    // child's stop is gdb's once this process is stopped too (interrupted,
    // its SIGINT stop not told).
    EXPECT_EQ(Ask("vCont;c:p10.-1;c:p2a.-1"), "<none>");
    EXPECT_EQ(ChildReceives(), "vCont;c:p10.-1;c:p2a.-1");
    ChildSays("T05thread:p2a.2a;swbreak:;");
    EXPECT_EQ(Relayed(), "<none>");
    EXPECT_EQ(fake_.interrupts, 1);
    StopsForItsInterrupt();
    std::vector<std::string> told = Packets(output_);
    ASSERT_EQ(told.size(), 1u) << output_;
    EXPECT_EQ(told[0], "T05thread:p2a.2a;swbreak:;");
    // It ends: gdb hears its exit, and it is gone.
    EXPECT_EQ(Ask("vCont;c:p2a.-1"), "<none>");
    EXPECT_EQ(ChildReceives(), "vCont;c:p2a.-1");
    ChildSays("W03;process:2a");
    EXPECT_EQ(Relayed(), "W03;process:2a");
    EXPECT_EQ(Ask("qfThreadInfo"), "mp10.10");
}

// schedule-multiple: this program ends while the kept child, resumed with it,
// has ended too and gdb has not heard of it. As gdbserver, the stub serves
// on: gdb hears this program's exit, the child stays listed by its main
// thread without registers, and the next resume tells its exit.
TEST_F(KeptChildTest, UntoldEndOutlivesTheProgram)
{
    ResumeWithKeptChild();
    // The child's end, then its answer to the halt this program's end sends.
    ChildSays("W03;process:2a");
    ChildSays("OK");
    output_.clear();
    gdb_stop exited{};
    exited.kind = GDB_STOP_EXITED;
    gdbstub_notify_stop(stub_, &exited);
    std::vector<std::string> told = Packets(output_);
    ASSERT_EQ(told.size(), 1u) << output_;
    EXPECT_EQ(told[0], "W00;process:10");
    EXPECT_EQ(ChildReceives(), "QHermituxHalt");
    EXPECT_TRUE(gdbstub_owes_stops(stub_));
    EXPECT_EQ(Ask("qfThreadInfo"), "mp2a.2a");
    EXPECT_EQ(Ask("Hgp2a.2a"), "OK");
    EXPECT_EQ(Ask("g"), std::string(2 * GDB_REGISTERS_SIZE, 'x'));
    EXPECT_EQ(Ask("vCont;c"), "W03;process:2a");
    EXPECT_FALSE(gdbstub_owes_stops(stub_));
    EXPECT_EQ(Ask("qfThreadInfo"), "l");
}

// schedule-multiple three deep: this program is a kept child itself, halted
// by its parent's stub (another process of the resume stopped first) while
// its own kept child runs; that child ends before its halt reaches it. The
// child's end is this process's answer, and kept by the parent for the
// next resume. This program's SIGINT was its halt, not an event: the next
// resume resumes it. (Before, the SIGINT was kept and told then: gdb showed
// "received signal SIGINT" in a program nobody interrupted.)
TEST_F(KeptChildTest, OwnHaltIsNotKeptBehindAChildsEnd)
{
    ResumeWithKeptChild();
    size_t resumed = fake_.resumes.size();
    EXPECT_EQ(Ask("QHermituxHalt"), "OK");
    EXPECT_EQ(fake_.interrupts, 1);
    StopsForItsInterrupt();
    EXPECT_EQ(output_, ""); // held while the child runs
    EXPECT_EQ(ChildReceives(), "QHermituxHalt");
    ChildSays("W03;process:2a");
    ChildSays("OK");
    EXPECT_EQ(Relayed(), "W03;process:2a");
    EXPECT_EQ(Ask("vCont;c"), "<none>");
    EXPECT_EQ(fake_.resumes.size(), resumed + 1);
}

TEST_F(GdbstubTest, ForkEventsAndTheChild)
{
    fake_.pid = 0x10;
    std::string reply = Ask("qSupported:multiprocess+;qRelocInsn+;fork-events+;vfork-events+");
    EXPECT_NE(reply.find(";fork-events+;vfork-events+"), std::string::npos) << reply;
    EXPECT_TRUE(fake_.fork_events);
    EXPECT_TRUE(fake_.vfork_events);
    Ask("vCont;c");
    gdb_stop stop{};
    stop.kind = GDB_STOP_SIGNAL;
    stop.signal = 5;
    stop.reason = GDB_STOP_REASON_FORK;
    stop.child_pid = 0x2a;
    output_.clear();
    gdbstub_notify_stop(stub_, &stop);
    EXPECT_EQ(output_, Frame("T05thread:p10.10;fork:p2a.2a;"));
    // gdb takes its breakpoints out of the child, then detaches it: the
    // program's own breakpoints are not touched.
    EXPECT_EQ(Ask("Hgp2a.2a"), "OK");
    EXPECT_EQ(Ask("z0,401000,1"), "OK");
    EXPECT_TRUE(fake_.breakpoints.empty());
    EXPECT_EQ(Ask("Hgp10.10"), "OK");
    EXPECT_EQ(Ask("D;2a"), "OK");
    EXPECT_EQ(fake_.detaches, 0);
    EXPECT_EQ(fake_.released_child, 0x2a);
    EXPECT_NE(Ask("Hgp2a.2a"), "OK"); // gone
    Ask("vCont;c");
    stop.reason = GDB_STOP_REASON_VFORK_DONE;
    output_.clear();
    gdbstub_notify_stop(stub_, &stop);
    EXPECT_EQ(output_, Frame("T05thread:p10.10;vforkdone:;"));
    // Without multiprocess+ there are no process events.
    Ask("qSupported:fork-events+");
    EXPECT_FALSE(fake_.fork_events);
}

TEST_F(GdbstubTest, PassAndProgramSignals)
{
    EXPECT_EQ(Ask("QPassSignals:e;14;1c"), "OK");
    EXPECT_EQ(fake_.passed, (std::vector<int>{0xe, 0x14, 0x1c}));
    EXPECT_EQ(Ask("QProgramSignals:2;5;"), "OK");
    EXPECT_EQ(fake_.programmed, (std::vector<int>{2, 5}));
    EXPECT_EQ(fake_.passed.size(), 3u); // each packet replaces only its own set
    EXPECT_EQ(Ask("QPassSignals:"), "OK");
    EXPECT_TRUE(fake_.passed.empty());
    EXPECT_EQ(Ask("QPassSignals:100"), "E22");
    EXPECT_EQ(Ask("QPassSignals:e;x"), "E22");
}

// multiprocess+: pPID.TID ids everywhere, the main thread's TID being the PID.
TEST_F(GdbstubTest, MultiprocessThreadIds)
{
    fake_.pid = 0x1234;
    EXPECT_EQ(Ask("qSupported").find("multiprocess+"), std::string::npos);
    EXPECT_EQ(Ask("qSupported:multiprocess+").find("multiprocess+"), std::string::npos); // lldb
    EXPECT_NE(Ask("qSupported:multiprocess+;qRelocInsn+").find("multiprocess+"), std::string::npos);
    EXPECT_EQ(Ask("qC"), "QCp1234.1234");
    EXPECT_EQ(Ask("qfThreadInfo"), "mp1234.1234");
    EXPECT_EQ(Ask("?"), "T05thread:p1234.1234;");
    EXPECT_EQ(Ask("Hgp1234.1234"), "OK");
    EXPECT_EQ(Ask("Hgp0.0"), "OK");
    EXPECT_EQ(Ask("Hcp-1.-1"), "OK");
    EXPECT_EQ(Ask("Hgp99.99"), "E03");
    EXPECT_EQ(Ask("Tp1234.1234"), "OK");
    EXPECT_EQ(Ask("Tp1234.99"), "E03");
    Ask("vCont;c:p1234.1234");
    ASSERT_EQ(fake_.resumes.size(), 1u);
    Stop(GDB_STOP_EXITED, 0, GDB_STOP_REASON_NONE, 0, 3);
    EXPECT_EQ(output_, Frame("W03;process:1234"));
}

std::string HexText(const std::string &text)
{
    std::string hex;
    char digits[3];
    for (unsigned char c : text) {
        snprintf(digits, sizeof digits, "%02x", c);
        hex += digits;
    }
    return hex;
}

TEST_F(GdbstubTest, FilesOfTheProgram)
{
    EXPECT_EQ(Ask("vFile:setfs:0"), "F0");
    EXPECT_EQ(Ask("vFile:open:" + HexText("/nope") + ",0,0"), "F-1,2");
    EXPECT_EQ(Ask("vFile:open:" + HexText("/proc/self/comm") + ",1,0"), "F-1,d");
    std::string opened = Ask("vFile:open:" + HexText("/proc/self/comm") + ",0,0");
    ASSERT_EQ(opened[0], 'F');
    std::string fd = opened.substr(1);
    EXPECT_EQ(Ask("vFile:pread:" + fd + ",100,0"), "F5;prog\n");
    EXPECT_EQ(Ask("vFile:pread:7777,100,0"), "F-1,9"); // not one of ours
    EXPECT_EQ(Ask("vFile:close:" + fd), "F0");
    EXPECT_EQ(Ask("vFile:close:" + fd), "F-1,9");
    EXPECT_EQ(Ask("vFile:readlink:" + HexText("/proc/self/exe")), "F9;/bin/prog");
    EXPECT_EQ(Ask("vFile:unlink:" + HexText("/x")), "");
    Ask("c"); // not while the program runs
    EXPECT_EQ(Ask("vFile:setfs:0"), "E16");
}

TEST_F(GdbstubTest, TheLibraryListIsOnlyOfferedToGdb)
{
    // lldb's qSupported (it would drop the program's symbols for the kernel's).
    std::string lldb = Ask("qSupported:xmlRegisters=i386,arm,mips,arc;multiprocess+;fork-events+");
    EXPECT_EQ(lldb.find("qXfer:libraries:read+"), std::string::npos) << lldb;
    EXPECT_NE(lldb.find("qXfer:features:read+"), std::string::npos) << lldb;
    EXPECT_EQ(Ask("qSupported").find("qXfer:libraries"), std::string::npos);
    std::string gdb = Ask("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+");
    EXPECT_NE(gdb.find("qXfer:libraries:read+"), std::string::npos) << gdb;
}

TEST_F(GdbstubTest, ThreadQueries)
{
    EXPECT_EQ(Ask("qC"), "QC1");
    EXPECT_EQ(Ask("qfThreadInfo"), "m1");
    EXPECT_EQ(Ask("qsThreadInfo"), "l");
    EXPECT_EQ(Ask("qAttached"), "0");
    EXPECT_EQ(Ask("qAttached:1"), "0");
    EXPECT_EQ(Ask("Hg0"), "OK");
    EXPECT_EQ(Ask("Hg1"), "OK");
    EXPECT_EQ(Ask("Hc-1"), "OK");
    EXPECT_EQ(Ask("Hg2"), "E03");
    EXPECT_EQ(Ask("Hx1"), "E22");
    EXPECT_EQ(Ask("H"), "E22");
    EXPECT_EQ(Ask("T1"), "OK");
    EXPECT_EQ(Ask("T2"), "E03");
    EXPECT_EQ(Ask("T"), "E22");
    EXPECT_EQ(Unhex(Ask("qThreadExtraInfo,1")), "vCPU 0");
    EXPECT_EQ(Ask("qThreadExtraInfo"), "E22");
    EXPECT_EQ(Ask("qSymbol::"), "OK");
    EXPECT_EQ(Ask("qTStatus"), "");
    EXPECT_EQ(Ask("qOffsets"), "");
}

TEST_F(GdbstubTest, LldbQueries)
{
    EXPECT_EQ(Ask("qHostInfo"), "triple:7838365f36342d70632d6c696e75782d676e75;ptrsize:8;"
                                "endian:little;");
    EXPECT_EQ(Unhex("7838365f36342d70632d6c696e75782d676e75"), "x86_64-pc-linux-gnu");
    std::string process = Ask("qProcessInfo");
    EXPECT_EQ(process.substr(0, 6), "pid:1;");
    EXPECT_NE(process.find("ptrsize:8;"), std::string::npos);
    EXPECT_EQ(Ask("qRegisterInfo0"), "");
}

TEST_F(GdbstubTest, ExecFileLibrariesAndAuxv)
{
    EXPECT_EQ(Ask("qXfer:exec-file:read:1:0,1000"), "l/home/user/prog");
    EXPECT_EQ(Ask("qXfer:exec-file:read::6,3"), "muse");
    auto ask = [this](const std::string &p) { return Ask(p); };
    std::string libraries = ReadWholeObject(this, ask, "qXfer:libraries:read::", 0x20);
    EXPECT_EQ(libraries, "<library-list><library name=\"/usr/lib/hermitux-run/hermitux-kernel\">"
                         "<section address=\"0xffff800000100000\"/></library></library-list>");
    // The SVR4 list: ld.so's link map (the program is main-lm, nameless
    // entries skipped, names escaped), then the kernel; from start= only the
    // part of ld.so's list gdb asked for.
    std::string svr4 = ReadWholeObject(this, ask, "qXfer:libraries-svr4:read::", 0x40);
    EXPECT_EQ(svr4, "<library-list-svr4 version=\"1.0\" main-lm=\"0x1000\">"
                    "<library name=\"/lib/libc.so.6 &lt;&amp;&gt;\" lm=\"0x3000\" "
                    "l_addr=\"0x7f0000000000\" l_ld=\"0x7f00001f0000\" lmid=\"0x0\"/>"
                    "<library name=\"/usr/lib/hermitux-run/hermitux-kernel\" "
                    "lm=\"0xffff800000100000\" l_addr=\"0x0\" l_ld=\"0x0\" lmid=\"0x0\"/>"
                    "</library-list-svr4>");
    EXPECT_EQ(fake_.link_map_start, 0u);
    std::string part =
        ReadWholeObject(this, ask, "qXfer:libraries-svr4:read:start=3000;prev=2000:", 0x40);
    EXPECT_EQ(fake_.link_map_start, 0x3000u);
    EXPECT_EQ(part, "<library-list-svr4 version=\"1.0\">"
                    "<library name=\"/lib/libc.so.6 &lt;&amp;&gt;\" lm=\"0x3000\" "
                    "l_addr=\"0x7f0000000000\" l_ld=\"0x7f00001f0000\" lmid=\"0x0\"/>"
                    "</library-list-svr4>");
    std::string auxv = ReadWholeObject(this, ask, "qXfer:auxv:read::", 5);
    EXPECT_EQ(auxv, std::string(fake_.auxv_bytes.begin(), fake_.auxv_bytes.end()));
    // The escaped reply never carries a raw '#', '$' or '*'.
    std::string raw = Ask("qXfer:auxv:read::0,100");
    EXPECT_EQ(raw.find_first_of("#$*"), std::string::npos);
    EXPECT_EQ(Ask("qXfer:auxv:read:x:0,10"), "E00");
    EXPECT_EQ(Ask("qXfer:nothing:read::0,10"), "E00");
    EXPECT_EQ(Ask("qXfer"), "E22");
    EXPECT_EQ(Ask("qXfer:features"), "E22");
}

TEST_F(GdbstubTest, MonitorCommandsAnswerInOPackets)
{
    fake_.monitor_output = std::string(3000, 'x') + "end\n";
    std::vector<std::string> packets = Packets(Feed(Frame("qRcmd," + Hex("info registers"))));
    EXPECT_EQ(fake_.last_monitor_command, "info registers");
    ASSERT_GE(packets.size(), 2u);
    EXPECT_EQ(packets.back(), "OK");
    std::string text;
    for (size_t i = 0; i + 1 < packets.size(); i++) {
        ASSERT_EQ(packets[i][0], 'O');
        text += Unhex(packets[i].substr(1));
    }
    EXPECT_EQ(text, fake_.monitor_output);

    fake_.monitor_output = "";
    EXPECT_EQ(Ask("qRcmd," + Hex("quiet")), "OK");
    EXPECT_EQ(Ask("qRcmd,6"), "E22");
    EXPECT_EQ(Ask("qRcmd,zz"), "E22");
    EXPECT_EQ(Ask("qRcmd,6100"), "E22"); // an embedded NUL
    EXPECT_EQ(Ask("qRcmd"), "E22");
}

// ---- hostile input -------------------------------------------------------

TEST_F(GdbstubTest, RandomBytesNeverCrash)
{
    std::mt19937 random(12345);
    const char alphabet[] = "$#}*+-\x03qQvmMXgGpPcsCSZzHTDk?0123456789abcdef,:;=";
    for (int round = 0; round < 20000; round++) {
        std::string bytes;
        int length = random() % 64;
        for (int i = 0; i < length; i++)
            bytes += random() % 2 ? alphabet[random() % (sizeof alphabet - 1)] : (char)random();
        // Half the time make it a well-framed packet so handlers run.
        if (random() % 2)
            bytes = Frame(bytes);
        Feed(bytes);
        if (random() % 50 == 0)
            Stop(GDB_STOP_SIGNAL, 5);
    }
    // Still answers afterwards (after finishing whatever state it is in).
    Stop(GDB_STOP_SIGNAL, 5);
    Feed("#00");
    std::vector<std::string> packets = Packets(Feed(Frame("qC")));
    ASSERT_FALSE(packets.empty());
    EXPECT_EQ(packets.back(), "QC1");
}

TEST_F(GdbstubTest, UnterminatedPacketsAreBounded)
{
    std::string flood(5 * GDB_PACKET_SIZE, 'a');
    EXPECT_EQ(Feed("$" + flood), "");
    EXPECT_EQ(Feed("#01"), "-"); // the checksum covers every byte, kept or not
    EXPECT_EQ(Feed("$" + flood + "#00"), "+" + Frame("E22"));
    EXPECT_EQ(Ask("qC"), "QC1");
}

// ---- sockets -------------------------------------------------------------

class GdbstubSocketTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        stub_ = gdbstub_new(&kFakeOps, &fake_);
        // As the monitor does with -S once the vCPU waits at its entry.
        gdb_stop initial{};
        initial.kind = GDB_STOP_SIGNAL;
        initial.signal = 5;
        gdbstub_notify_stop(stub_, &initial);
    }
    void TearDown() override
    {
        for (int fd : clients_)
            close(fd);
        gdbstub_free(stub_);
    }

    int ConnectTcp()
    {
        std::string address = gdbstub_address(stub_);
        int port = atoi(address.substr(address.rfind(':') + 1).c_str());
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(connect(fd, (sockaddr *)&to, sizeof to), 0);
        clients_.push_back(fd);
        Spin();
        return fd;
    }

    void Spin()
    {
        for (int i = 0; i < 20; i++)
            g_main_context_iteration(nullptr, FALSE);
    }

    // Waits (spinning the loop) for bytes, or for EOF ("<eof>").
    std::string Receive(int fd)
    {
        for (int i = 0; i < 200; i++) {
            Spin();
            pollfd ready{fd, POLLIN, 0};
            if (poll(&ready, 1, 10) == 1) {
                char buffer[4096];
                ssize_t got = recv(fd, buffer, sizeof buffer, 0);
                return got <= 0 ? "<eof>" : std::string(buffer, got);
            }
        }
        return "<timeout>";
    }

    FakeTarget fake_;
    gdbstub *stub_ = nullptr;
    std::vector<int> clients_;
};

TEST_F(GdbstubSocketTest, ServesOneDebuggerOverTcpAndRefusesASecond)
{
    char *error = nullptr;
    ASSERT_EQ(gdbstub_listen(stub_, "tcp::0", &error), 0) << error;
    std::string address = gdbstub_address(stub_);
    EXPECT_EQ(address.substr(0, 10), "127.0.0.1:");
    EXPECT_NE(address, "127.0.0.1:0");

    int first = ConnectTcp();
    EXPECT_TRUE(gdbstub_connected(stub_));
    std::string question = Frame("?");
    send(first, question.data(), question.size(), 0);
    EXPECT_EQ(Receive(first), "+" + Frame("T05thread:1;"));

    testing::internal::CaptureStderr();
    int second = ConnectTcp();
    EXPECT_EQ(Receive(second), "<eof>");
    std::string said = testing::internal::GetCapturedStderr();
    EXPECT_EQ(
        said.rfind("hermitux-run: gdb: refused a second debugger connection from 127.0.0.1:", 0),
        0u)
        << said;

    // The first one goes away without D; the next one is welcome.
    close(first);
    clients_.erase(clients_.begin());
    Spin();
    Spin();
    EXPECT_EQ(fake_.disconnects, 1);
    EXPECT_FALSE(gdbstub_connected(stub_));
    int third = ConnectTcp();
    send(third, question.data(), question.size(), 0);
    EXPECT_EQ(Receive(third), "+" + Frame("T05thread:1;"));

    // D closes the connection and does not count as a disconnect.
    std::string detach = Frame("D");
    send(third, detach.data(), detach.size(), 0);
    EXPECT_EQ(Receive(third), "+" + Frame("OK"));
    EXPECT_EQ(Receive(third), "<eof>");
    EXPECT_EQ(fake_.detaches, 1);
    EXPECT_EQ(fake_.disconnects, 1);
    g_free(error);
}

TEST_F(GdbstubSocketTest, AStopWhileNoDebuggerIsThereWaitsForTheNextOne)
{
    char *error = nullptr;
    ASSERT_EQ(gdbstub_listen(stub_, "tcp::0", &error), 0) << error;
    int first = ConnectTcp();
    std::string cont = Frame("c");
    send(first, cont.data(), cont.size(), 0);
    EXPECT_EQ(Receive(first), "+");
    ASSERT_EQ(fake_.resumes.size(), 1u);
    close(first); // gdb dies while the guest runs
    clients_.clear();
    Spin();
    EXPECT_EQ(fake_.disconnects, 1);

    gdb_stop stop{};
    stop.kind = GDB_STOP_SIGNAL;
    stop.signal = 11;
    gdbstub_notify_stop(stub_, &stop);

    int second = ConnectTcp();
    std::string question = Frame("?");
    send(second, question.data(), question.size(), 0);
    EXPECT_EQ(Receive(second), "+" + Frame("T0bthread:1;"));
    EXPECT_EQ(fake_.interrupts, 0);
}

// Before the guest is known to be stopped or running, a debugger waits in the
// backlog: its first packets are answered only once a resume can be taken.
TEST_F(GdbstubSocketTest, NoPacketIsAnsweredBeforeTheGuestStops)
{
    gdbstub_free(stub_);
    stub_ = gdbstub_new(&kFakeOps, &fake_);
    char *error = nullptr;
    ASSERT_EQ(gdbstub_listen(stub_, "tcp::0", &error), 0) << error;
    EXPECT_FALSE(gdbstub_accepting(stub_));
    int fd = ConnectTcp();
    EXPECT_FALSE(gdbstub_connected(stub_));
    std::string request = Frame("?") + Frame("c");
    send(fd, request.data(), request.size(), 0);
    Spin();
    EXPECT_TRUE(fake_.resumes.empty());
    gdb_stop parked{};
    parked.kind = GDB_STOP_SIGNAL;
    parked.signal = 5;
    gdbstub_notify_stop(stub_, &parked);
    EXPECT_TRUE(gdbstub_accepting(stub_));
    EXPECT_EQ(Receive(fd), "+" + Frame("T05thread:1;") + "+");
    EXPECT_EQ(fake_.resumes.size(), 1u);
}

TEST_F(GdbstubSocketTest, ADebuggerThatStopsReadingIsDroppedNotWaitedFor)
{
    char *error = nullptr;
    ASSERT_EQ(gdbstub_listen(stub_, "tcp::0", &error), 0) << error;
    int fd = ConnectTcp();
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    std::string requests = Frame("QStartNoAckMode");
    // 16 KiB of hex each, 16 MB in all: more than the kernel's socket
    // buffers can take on top of the stub's 1 MiB (with 300, 4.8 MB, the
    // host's autotuned buffers, up to 4 MiB here, sometimes took enough
    // that the stub never reached its limit: 1 run in 5 under ASan).
    for (int i = 0; i < 1000; i++)
        requests += Frame("m400000,2000");
    send(fd, requests.data(), requests.size(), 0);
    // Dropped once its unread replies pass 1 MiB: as many turns as that
    // takes on a slow machine (ASan under load needed more than 50).
    for (int i = 0; i < 3000 && fake_.disconnects == 0; i++) {
        Spin();
        usleep(1000);
    }
    EXPECT_EQ(fake_.disconnects, 1);
    EXPECT_FALSE(gdbstub_connected(stub_));
}

TEST_F(GdbstubSocketTest, ListensOnAUnixSocket)
{
    char path[] = "/tmp/gdbstub-test-XXXXXX";
    ASSERT_NE(mkdtemp(path), nullptr);
    std::string socket_path = std::string(path) + "/gdb.sock";
    char *error = nullptr;
    ASSERT_EQ(gdbstub_listen(stub_, ("unix:" + socket_path).c_str(), &error), 0) << error;
    EXPECT_EQ(gdbstub_address(stub_), socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    strcpy(to.sun_path, socket_path.c_str());
    ASSERT_EQ(connect(fd, (sockaddr *)&to, sizeof to), 0);
    clients_.push_back(fd);
    std::string question = Frame("qC");
    send(fd, question.data(), question.size(), 0);
    EXPECT_EQ(Receive(fd), "+" + Frame("QC1"));
    gdbstub_free(stub_);
    stub_ = nullptr;
    EXPECT_NE(access(socket_path.c_str(), F_OK), 0); // cleaned up
    rmdir(path);
}

TEST_F(GdbstubSocketTest, TcpWithAHost)
{
    char *error = nullptr;
    ASSERT_EQ(gdbstub_listen(stub_, "tcp:localhost:0", &error), 0) << error;
    EXPECT_NE(std::string(gdbstub_address(stub_)).find(':'), std::string::npos);
}

TEST_F(GdbstubSocketTest, BadSpecsAreOneLineErrors)
{
    for (const char *spec : {"", "1234", "tcp:", "tcp::", "tcp::99999", "tcp::12ab", "udp::1",
                             "unix:", "tcp:no.such.host.invalid:1234"}) {
        char *error = nullptr;
        EXPECT_EQ(gdbstub_listen(stub_, spec, &error), -1) << spec;
        ASSERT_NE(error, nullptr) << spec;
        EXPECT_EQ(strchr(error, '\n'), nullptr);
        g_free(error);
    }
}

// ---- a target with threads: every thread a gdb thread --------------------------

// Three threads, tids 100-102, each with its own rip; records the resumes'
// actions and whose registers were read.
struct ThreadedTarget : FakeTarget {
    std::vector<int64_t> tids{100, 101, 102};
    std::vector<std::vector<gdb_resume_action>> resume_actions;
    std::vector<int64_t> register_reads;
};

ThreadedTarget *Threaded(void *opaque)
{
    return static_cast<ThreadedTarget *>(static_cast<FakeTarget *>(opaque));
}

gdb_target_ops MakeThreadedOps()
{
    gdb_target_ops ops = kFakeOps;
    ops.read_registers = [](void *opaque, int64_t thread, cpu_state *state, cpu_fpu_state *fpu) {
        ThreadedTarget *target = Threaded(opaque);
        if (std::find(target->tids.begin(), target->tids.end(), thread) == target->tids.end())
            return -ESRCH;
        if (!fpu && !target->expedite)
            return -ENOTSUP;
        target->register_reads.push_back(thread);
        *state = target->state;
        state->rip = 0x1000 * (uint64_t)(thread - 99);
        if (fpu)
            *fpu = target->fpu;
        return 0;
    };
    ops.resume = [](void *opaque, const gdb_resume_action *actions, size_t count) {
        Threaded(opaque)->resume_actions.emplace_back(actions, actions + count);
        return 0;
    };
    ops.threads = [](void *opaque, int64_t *ids, size_t max) {
        const std::vector<int64_t> &tids = Threaded(opaque)->tids;
        for (size_t i = 0; i < tids.size() && i < max; i++)
            ids[i] = tids[i];
        return tids.size();
    };
    ops.thread_name = [](void *opaque, int64_t thread) -> char * {
        const std::vector<int64_t> &tids = Threaded(opaque)->tids;
        if (std::find(tids.begin(), tids.end(), thread) == tids.end())
            return nullptr;
        return g_strdup_printf("t%d<%d>", (int)thread, (int)thread);
    };
    return ops;
}

const gdb_target_ops kThreadedOps = MakeThreadedOps();

class GdbstubThreadsTest : public GdbstubTest
{
  protected:
    void SetUp() override
    {
        stub_ = gdbstub_new(&kThreadedOps, static_cast<FakeTarget *>(&threaded_));
        gdbstub_capture_output(stub_, Capture, &output_);
    }

    void StopIn(int64_t thread)
    {
        gdb_stop stop{};
        stop.kind = GDB_STOP_SIGNAL;
        stop.signal = 5;
        stop.thread = thread;
        output_.clear();
        gdbstub_notify_stop(stub_, &stop);
    }

    // rip as a 'p10' answer gives it (little-endian hex).
    static std::string Rip(uint64_t rip)
    {
        char text[17];
        for (int i = 0; i < 8; i++)
            snprintf(text + 2 * i, 3, "%02x", (unsigned)((rip >> (8 * i)) & 0xff));
        return text;
    }

    ThreadedTarget threaded_;
};

TEST_F(GdbstubThreadsTest, ListAndSelectThreads)
{
    EXPECT_NE(Ask("qSupported:swbreak+").find(";qXfer:threads:read+"), std::string::npos);
    StopIn(101);
    EXPECT_EQ(Ask("?"), "T05thread:65;");
    EXPECT_EQ(Ask("qfThreadInfo"), "m64,65,66");
    EXPECT_EQ(Ask("qsThreadInfo"), "l");
    EXPECT_EQ(Ask("qC"), "QC65");
    // Registers are the thread's that stopped, then Hg's.
    EXPECT_EQ(Ask("p10"), Rip(0x2000));
    EXPECT_EQ(Ask("Hg66"), "OK");
    EXPECT_EQ(Ask("p10"), Rip(0x3000));
    EXPECT_EQ(Ask("qC"), "QC66");
    EXPECT_EQ(Ask("Hg99"), "E03");                 // no such thread
    EXPECT_EQ(Ask("p10;thread:64;"), Rip(0x1000)); // lldb's suffix
    EXPECT_EQ(Ask("T64"), "OK");
    EXPECT_EQ(Ask("T99"), "E03");
    EXPECT_EQ(Ask("Hg0"), "OK"); // back to the thread that stopped
    EXPECT_EQ(Ask("p10"), Rip(0x2000));
    // A new stop selects its own thread again.
    Ask("Hg66");
    StopIn(100);
    EXPECT_EQ(Ask("p10"), Rip(0x1000));
}

TEST_F(GdbstubThreadsTest, NamesInThreadListAndExtraInfo)
{
    StopIn(100);
    EXPECT_EQ(Ask("qXfer:threads:read::0,1000"),
              "l<?xml version=\"1.0\"?>\n<threads>\n<thread id=\"64\" name=\"t100&lt;100&gt;\"/>\n"
              "<thread id=\"65\" name=\"t101&lt;101&gt;\"/>\n"
              "<thread id=\"66\" name=\"t102&lt;102&gt;\"/>\n</threads>\n");
    std::string hex;
    for (char c : std::string("t101<101>")) {
        char pair[3];
        snprintf(pair, sizeof pair, "%02x", (unsigned char)c);
        hex += pair;
    }
    EXPECT_EQ(Ask("qThreadExtraInfo,65"), hex);
}

TEST_F(GdbstubThreadsTest, MultiprocessIdsAreRealTids)
{
    threaded_.pid = 100;
    Ask("qSupported:multiprocess+;qRelocInsn+");
    StopIn(102);
    EXPECT_EQ(Ask("?"), "T05thread:p64.66;");
    EXPECT_EQ(Ask("qfThreadInfo"), "mp64.64,p64.65,p64.66");
    EXPECT_EQ(Ask("Hgp64.65"), "OK");
    EXPECT_EQ(Ask("p10"), Rip(0x2000));
    EXPECT_EQ(Ask("Hgp65.65"), "E03"); // another process
}

TEST_F(GdbstubThreadsTest, VContActionsPerThread)
{
    StopIn(100);
    // gdb's `next` with scheduler-locking off: step one thread, continue the rest.
    Ask("vCont;s:65;c");
    ASSERT_EQ(threaded_.resume_actions.size(), 1u);
    const std::vector<gdb_resume_action> &first = threaded_.resume_actions[0];
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].thread, 101);
    EXPECT_EQ(first[0].mode, GDB_RESUME_STEP);
    EXPECT_EQ(first[1].thread, -1);
    EXPECT_EQ(first[1].mode, GDB_RESUME_CONTINUE);
    StopIn(101);
    EXPECT_EQ(output_, Frame("T05thread:65;"));
    // Scheduler locking: the one thread alone; a range step carries its range.
    Ask("vCont;r1000,1010:66");
    const std::vector<gdb_resume_action> &second = threaded_.resume_actions[1];
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].thread, 102);
    EXPECT_EQ(second[0].mode, GDB_RESUME_RANGE_STEP);
    EXPECT_EQ(second[0].range_start, 0x1000u);
    EXPECT_EQ(second[0].range_end, 0x1010u);
    StopIn(102);
    // The legacy s steps Hc's thread only; c continues every thread.
    EXPECT_EQ(Ask("Hc64"), "OK");
    Ask("s");
    ASSERT_EQ(threaded_.resume_actions[2].size(), 1u);
    EXPECT_EQ(threaded_.resume_actions[2][0].thread, 100);
    StopIn(100);
    Ask("c");
    EXPECT_EQ(threaded_.resume_actions[3][0].thread, -1);
}

// ---- non-stop mode (gdbstub/nonstop.c) ----

struct NonStopTarget : ThreadedTarget {
    std::vector<bool> modes;         // each ops->non_stop call
    std::vector<gdb_stop> stopped;   // what ops->stopped_threads lists
    std::vector<bool> thread_events; // each ops->thread_events call
};

NonStopTarget *NonStop(void *opaque)
{
    return static_cast<NonStopTarget *>(Threaded(opaque));
}

gdb_target_ops MakeNonStopOps()
{
    gdb_target_ops ops = MakeThreadedOps();
    ops.non_stop = [](void *opaque, bool on) {
        NonStop(opaque)->modes.push_back(on);
        return 0;
    };
    ops.stopped_threads = [](void *opaque, gdb_stop *stops, size_t max) {
        const std::vector<gdb_stop> &stopped = NonStop(opaque)->stopped;
        for (size_t i = 0; i < stopped.size() && i < max; i++)
            stops[i] = stopped[i];
        return stopped.size();
    };
    ops.thread_events = [](void *opaque, bool on) { NonStop(opaque)->thread_events.push_back(on); };
    return ops;
}

const gdb_target_ops kNonStopOps = MakeNonStopOps();

class GdbstubNonStopTest : public GdbstubTest
{
  protected:
    void SetUp() override
    {
        stub_ = gdbstub_new(&kNonStopOps, static_cast<FakeTarget *>(&target_));
        gdbstub_capture_output(stub_, Capture, &output_);
    }

    static gdb_stop Trap(int64_t thread)
    {
        gdb_stop stop{};
        stop.kind = GDB_STOP_SIGNAL;
        stop.signal = 5;
        stop.thread = thread;
        return stop;
    }

    void StopIn(int64_t thread)
    {
        gdb_stop stop = Trap(thread);
        output_.clear();
        gdbstub_notify_stop(stub_, &stop);
    }

    static std::string Notification(const std::string &payload)
    {
        return "%" + Frame(payload).substr(1);
    }

    NonStopTarget target_;
};

TEST_F(GdbstubNonStopTest, OfferedAndTurnedOnAndOff)
{
    EXPECT_NE(Ask("qSupported:swbreak+").find(";QNonStop+"), std::string::npos);
    EXPECT_EQ(Ask("vCont?"), "vCont;c;C;s;S;r;t");
    EXPECT_EQ(Ask("QNonStop:0"), "OK"); // all-stop already: the target is not bothered
    EXPECT_TRUE(target_.modes.empty());
    EXPECT_EQ(Ask("QNonStop:1"), "OK");
    EXPECT_EQ(Ask("QNonStop:2"), "E22");
    EXPECT_EQ(Ask("QNonStop:0"), "OK");
    EXPECT_EQ(target_.modes, (std::vector<bool>{true, false}));
}

TEST_F(GdbstubNonStopTest, AllStopStubsRefuseIt)
{
    gdbstub_free(stub_);
    stub_ = gdbstub_new(&kThreadedOps, static_cast<FakeTarget *>(&target_));
    gdbstub_capture_output(stub_, Capture, &output_);
    EXPECT_EQ(Ask("qSupported:swbreak+").find("QNonStop"), std::string::npos);
    EXPECT_EQ(Ask("vCont?"), "vCont;c;C;s;S;r");
    EXPECT_EQ(Ask("QNonStop:1"), "");
}

TEST_F(GdbstubNonStopTest, ResumeAnswersAtOnceAndStopsComeAsNotifications)
{
    Ask("QNonStop:1");
    EXPECT_EQ(Ask("vCont;c:65"), "OK");
    ASSERT_EQ(target_.resume_actions.size(), 1u);
    EXPECT_EQ(target_.resume_actions[0][0].thread, 101);
    // Other packets are served while it runs: memory, registers of stopped threads.
    EXPECT_NE(Ask("m10000,4"), "E0e");
    EXPECT_EQ(Ask("Hg64"), "OK");
    // Two stops: the first is announced, the second waits for vStopped.
    StopIn(101);
    EXPECT_EQ(output_, Notification("Stop:T05thread:65;"));
    StopIn(102);
    EXPECT_EQ(output_, "");
    // A stop does not change Hg's thread (gdb may be reading another's registers).
    EXPECT_EQ(Ask("qC"), "QC64");
    EXPECT_EQ(Ask("vStopped"), "T05thread:66;");
    EXPECT_EQ(Ask("vStopped"), "OK");
    // The next stop is announced again.
    StopIn(100);
    EXPECT_EQ(output_, Notification("Stop:T05thread:64;"));
    EXPECT_EQ(Ask("vStopped"), "OK");
    // vCont;t asks a thread to stop.
    EXPECT_EQ(Ask("vCont;t:66"), "OK");
    EXPECT_EQ(target_.resume_actions[1][0].mode, GDB_RESUME_STOP);
    EXPECT_EQ(target_.resume_actions[1][0].thread, 102);
    // vCtrlC and Ctrl-C interrupt the program (one thread stops with SIGINT).
    EXPECT_EQ(Ask("vCtrlC"), "OK");
    Feed("\x03");
    EXPECT_EQ(target_.interrupts, 2);
}

TEST_F(GdbstubNonStopTest, StatusListsEveryStoppedThread)
{
    Ask("QNonStop:1");
    EXPECT_EQ(Ask("?"), "OK"); // every thread runs
    target_.stopped = {Trap(100), Trap(102)};
    target_.stopped[1].signal = 0;
    EXPECT_EQ(Ask("?"), "T05thread:64;");
    EXPECT_EQ(Ask("vStopped"), "T00thread:66;");
    EXPECT_EQ(Ask("vStopped"), "OK");
    // The program's end comes through the queue too.
    gdb_stop end{};
    end.kind = GDB_STOP_EXITED;
    end.exit_status = 3;
    output_.clear();
    gdbstub_notify_stop(stub_, &end);
    EXPECT_EQ(output_, Notification("Stop:W03"));
    EXPECT_EQ(Ask("vStopped"), "OK");
    EXPECT_EQ(Ask("?"), "W03");
}

TEST_F(GdbstubNonStopTest, ThreadEventsAreOfferedAndReportedAsGdbserverDoes)
{
    EXPECT_NE(Ask("qSupported:swbreak+").find(";QThreadEvents+"), std::string::npos);
    EXPECT_EQ(Ask("QThreadEvents:1"), "OK");
    EXPECT_EQ(Ask("QThreadEvents:2"), "E22");
    EXPECT_EQ(Ask("QThreadEvents"), "E22");
    EXPECT_EQ(Ask("QThreadEvents:0"), "OK");
    EXPECT_EQ(target_.thread_events, (std::vector<bool>{true, false}));
    Ask("QNonStop:1");
    EXPECT_EQ(Ask("vCont;c"), "OK");
    // A new thread stopped before its first instruction.
    gdb_stop born = Trap(103);
    born.reason = GDB_STOP_REASON_CREATE;
    output_.clear();
    gdbstub_notify_stop(stub_, &born);
    EXPECT_EQ(output_, Notification("Stop:T05thread:67;create:;"));
    EXPECT_EQ(Ask("vStopped"), "OK");
    // A thread's own end: gdbserver's w0, which is not the program's end.
    gdb_stop gone{};
    gone.kind = GDB_STOP_THREAD_EXITED;
    gone.thread = 103;
    output_.clear();
    gdbstub_notify_stop(stub_, &gone);
    EXPECT_EQ(output_, Notification("Stop:w0;67"));
    EXPECT_EQ(Ask("vStopped"), "OK");
    EXPECT_EQ(Ask("?"), "OK"); // every thread runs; the program goes on
    EXPECT_EQ(Ask("vCont;t:64"), "OK");
    EXPECT_EQ(target_.resume_actions.back()[0].mode, GDB_RESUME_STOP);
}

TEST_F(GdbstubNonStopTest, ThreadEventsNotOfferedWithoutTheTargetsHelp)
{
    gdbstub_free(stub_);
    stub_ = gdbstub_new(&kThreadedOps, static_cast<FakeTarget *>(&target_));
    gdbstub_capture_output(stub_, Capture, &output_);
    EXPECT_EQ(Ask("qSupported:swbreak+").find("QThreadEvents"), std::string::npos);
    EXPECT_EQ(Ask("QThreadEvents:1"), "");
}

// No resumed thread left (gdbserver's N): only to a debugger offering no-resumed+.
TEST_F(GdbstubNonStopTest, NoResumedThreadLeftIsToldAsGdbserverTellsIt)
{
    gdb_stop none{};
    none.kind = GDB_STOP_NO_RESUMED;
    StopIn(100);
    EXPECT_EQ(Ask("vCont;c:64"), "<none>"); // all-stop: the stop reply comes later
    output_.clear();
    gdbstub_notify_stop(stub_, &none);
    EXPECT_EQ(Packets(output_), std::vector<std::string>{"E.No unwaited-for children left."});
    EXPECT_EQ(Ask("?"), "T05thread:64;"); // the last stop stays the one to tell
    Ask("qSupported:swbreak+;no-resumed+");
    EXPECT_EQ(Ask("vCont;c:64"), "<none>");
    output_.clear();
    gdbstub_notify_stop(stub_, &none);
    EXPECT_EQ(Packets(output_), std::vector<std::string>{"N"});
    // Non-stop: a %Stop notification.
    Ask("QNonStop:1");
    EXPECT_EQ(Ask("vCont;c"), "OK");
    output_.clear();
    gdbstub_notify_stop(stub_, &none);
    EXPECT_EQ(output_, Notification("Stop:N"));
    EXPECT_EQ(Ask("vStopped"), "OK");
}

TEST_F(GdbstubNonStopTest, AllStopDropsStopActions)
{
    StopIn(100); // all-stop: a resume owes one stop reply
    Ask("vCont;t:65;c:64");
    ASSERT_EQ(target_.resume_actions.size(), 1u);
    ASSERT_EQ(target_.resume_actions[0].size(), 1u);
    EXPECT_EQ(target_.resume_actions[0][0].thread, 100);
}

} // namespace
