// Module tests for gdbstub/agent.c: gdb's agent expressions, evaluated
// against a fake thread (registers and a sparse memory). The condition
// bytecodes are what gdb 13 sent gdbserver (set debug remote 1) for
// `break hit if i == 500 && counter >= 0` and for
// `break third if (i * 3) % 7 == 2 && i > 900 || big >> 1 != -3 || $rsp == 0`.
#include <gtest/gtest.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <map>
#include <string>
#include <vector>

#include "gdbstub/gdbstub.h"

namespace
{

constexpr uint64_t kRbp = 0x7fffffffe5a0;
constexpr uint64_t kCounter = 0x4a62f0;
constexpr uint64_t kBig = 0x4a40d0;
constexpr uint64_t kName = 0x4a4100;

struct FakeThread {
    std::map<int, uint64_t> registers;
    std::map<uint64_t, uint8_t> memory;
    std::string output;
    int register_reads = 0;

    void put(uint64_t address, uint64_t value, size_t size)
    {
        for (size_t i = 0; i < size; i++)
            memory[address + i] = (uint8_t)(value >> (8 * i));
    }
    void put_string(uint64_t address, const char *text)
    {
        for (size_t i = 0; i <= strlen(text); i++)
            memory[address + i] = (uint8_t)text[i];
    }
};

int read_register(void *opaque, int regnum, uint64_t *value)
{
    auto *thread = static_cast<FakeThread *>(opaque);
    thread->register_reads++;
    auto found = thread->registers.find(regnum);
    if (found == thread->registers.end())
        return -EINVAL;
    *value = found->second;
    return 0;
}

int read_memory(void *opaque, uint64_t address, void *buffer, size_t length)
{
    auto *thread = static_cast<FakeThread *>(opaque);
    for (size_t i = 0; i < length; i++) {
        auto found = thread->memory.find(address + i);
        if (found == thread->memory.end())
            return -EFAULT;
        static_cast<uint8_t *>(buffer)[i] = found->second;
    }
    return 0;
}

void output(void *opaque, const char *text, size_t length)
{
    static_cast<FakeThread *>(opaque)->output.append(text, length);
}

std::vector<uint8_t> FromHex(const std::string &hex)
{
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        bytes.push_back((uint8_t)std::stoul(hex.substr(i, 2), nullptr, 16));
    return bytes;
}

const char kHitCondition[] = "26000622100222ec1608021916202301f41320001821002f24004a62f019162022"
                             "00140e20002a21002f2201210031220027";
const char kThirdCondition[] =
    "26000622100222ec1608021916202203041620220707162022021320002121003f26000622100222ec"
    "1608021916202303842b1420003a21003f2201210041220020005f24004a40d01a164022010a164022"
    "fd1608130e20005f220021006122012000742600072a402200132000742200210076220127";

class AgentTest : public ::testing::Test
{
  protected:
    FakeThread thread;
    gdb_agent_target target{&thread, read_register, read_memory, output};

    void SetUp() override
    {
        thread.registers[6] = kRbp;      // rbp
        thread.registers[7] = kRbp - 64; // rsp
        thread.put(kCounter, 0, 4);
        thread.put(kBig, (uint64_t)-5, 8);
    }

    gdb_agent_status Eval(const std::vector<uint8_t> &bytes, uint64_t *value)
    {
        gdb_agent_expr expr{const_cast<uint8_t *>(bytes.data()), bytes.size()};
        return gdb_agent_eval(&expr, &target, value);
    }

    // The value of a condition that must evaluate without error.
    uint64_t Value(const char *hex)
    {
        uint64_t value = 0xdead;
        EXPECT_EQ(GDB_AGENT_OK, Eval(FromHex(hex), &value)) << hex;
        return value;
    }

    void SetI(int32_t i)
    {
        thread.put(kRbp - 4, (uint32_t)i, 4);
    }
};

TEST_F(AgentTest, GdbConditionIEquals500AndCounterNotNegative)
{
    SetI(500);
    thread.put(kCounter, 3, 4);
    EXPECT_EQ(1u, Value(kHitCondition));
    SetI(499);
    EXPECT_EQ(0u, Value(kHitCondition));
    SetI(500);
    thread.put(kCounter, (uint32_t)-1, 4); // ref32 then ext 32: signed
    EXPECT_EQ(0u, Value(kHitCondition));
}

TEST_F(AgentTest, GdbConditionWithArithmeticShiftsAndRegister)
{
    SetI(906); // 2718 % 7 == 2
    EXPECT_EQ(1u, Value(kThirdCondition));
    SetI(905);
    EXPECT_EQ(0u, Value(kThirdCondition));
    SetI(3); // 9 % 7 == 2, but not > 900
    EXPECT_EQ(0u, Value(kThirdCondition));
    thread.put(kBig, (uint64_t)-4, 8); // -4 >> 1 == -2: true
    EXPECT_EQ(1u, Value(kThirdCondition));
    thread.put(kBig, (uint64_t)-5, 8);
    thread.registers[7] = 0; // $rsp == 0
    EXPECT_EQ(1u, Value(kThirdCondition));
}

TEST_F(AgentTest, UnreadableMemoryIsAnErrorAndTheConditionHolds)
{
    thread.memory.clear(); // i and counter unreadable
    uint64_t value;
    EXPECT_EQ(GDB_AGENT_MEMORY, Eval(FromHex(kHitCondition), &value));
    std::vector<uint8_t> bytes = FromHex(kHitCondition);
    gdb_agent_expr expr{bytes.data(), bytes.size()};
    gdb_breakpoint_actions actions{};
    actions.conditions = &expr;
    actions.condition_count = 1;
    EXPECT_TRUE(gdb_agent_conditions_hold(&actions, &target));
}

TEST_F(AgentTest, AnyTrueConditionHoldsNoneFalse)
{
    std::vector<uint8_t> no = FromHex("220027"), yes = FromHex("220127");
    gdb_agent_expr list[2] = {{no.data(), no.size()}, {no.data(), no.size()}};
    gdb_breakpoint_actions actions{};
    actions.conditions = list;
    actions.condition_count = 2;
    EXPECT_FALSE(gdb_agent_conditions_hold(&actions, &target));
    list[1] = {yes.data(), yes.size()};
    EXPECT_TRUE(gdb_agent_conditions_hold(&actions, &target));
    actions.condition_count = 0;
    EXPECT_TRUE(gdb_agent_conditions_hold(&actions, &target)); // unconditional
    EXPECT_TRUE(gdb_agent_conditions_hold(nullptr, &target));
}

TEST_F(AgentTest, Arithmetic)
{
    EXPECT_EQ(7u, Value("220322040227"));           // 3 + 4
    EXPECT_EQ((uint64_t)-1, Value("220322040327")); // 3 - 4
    EXPECT_EQ(12u, Value("220322040427"));          // 3 * 4
    EXPECT_EQ((uint64_t)-3, Value("22f91608220205"
                                  "27")); // -7 / 2 (signed)
    EXPECT_EQ((uint64_t)-1, Value("22f91608220207"
                                  "27"));                      // -7 % 2 (signed)
    EXPECT_EQ(0x7ffffffffffffffcu, Value("22f9160822020627")); // unsigned
    EXPECT_EQ(1u, Value("22f9160822020827"));                  // unsigned rem
    EXPECT_EQ(0x100u, Value("2201220809"
                            "27")); // 1 << 8
    EXPECT_EQ((uint64_t)-1, Value("22f016082204"
                                  "0a"
                                  "27")); // -16 >> 4 signed
    EXPECT_EQ(0u, Value("2201224009"
                        "27")); // 1 << 64: 0, not UB
    EXPECT_EQ(1u, Value("22f0160822ff0b"
                        "0e"
                        "27")); // !(x >> 255)
}

TEST_F(AgentTest, DivisionByZeroIsAnError)
{
    uint64_t value;
    EXPECT_EQ(GDB_AGENT_DIVIDE, Eval(FromHex("2201220005"
                                             "27"),
                                     &value));
    EXPECT_EQ(GDB_AGENT_DIVIDE, Eval(FromHex("2201220008"
                                             "27"),
                                     &value));
    // INT64_MIN / -1 wraps instead of trapping the monitor.
    EXPECT_EQ(GDB_AGENT_OK, Eval(FromHex("25800000000000000022ff160805"
                                         "27"),
                                 &value));
    EXPECT_EQ(0x8000000000000000u, value);
}

TEST_F(AgentTest, ComparisonsAndLogic)
{
    EXPECT_EQ(1u, Value("22ff160822011427")); // -1 < 1 signed
    EXPECT_EQ(0u, Value("22ff160822011527")); // not unsigned
    EXPECT_EQ(1u, Value("2205220513"
                        "27"));
    EXPECT_EQ(1u, Value("22000e27"));
    EXPECT_EQ(0u, Value("22070e27"));
    EXPECT_EQ(0xfffffffffffffff0u, Value("220f1227"));
    EXPECT_EQ(8u, Value("220e2207"
                        "0f"
                        "220c"
                        "10"
                        "2206"
                        "11"
                        "27")); // (14 & 7 | 12) ^ 6
}

TEST_F(AgentTest, ExtensionsAndConstants)
{
    EXPECT_EQ((uint64_t)-128, Value("2280160827"));
    EXPECT_EQ(0x80u, Value("22801608"
                           "2a08"
                           "27"));
    EXPECT_EQ(0x1234u, Value("23123427"));
    EXPECT_EQ(0x12345678u, Value("241234567827"));
    EXPECT_EQ(0x0102030405060708u, Value("25010203040506070827"));
    EXPECT_EQ(0xffu, Value("22ff164027")); // ext 64: nothing to do
}

TEST_F(AgentTest, StackWords)
{
    EXPECT_EQ(2u, Value("2201220228"
                        "29"
                        "27"));           // dup pop
    EXPECT_EQ(1u, Value("220122022b27")); // swap: 1 on top
    EXPECT_EQ(2u, Value("22012202220333"
                        "27")); // 1 2 3 rot => 3 1 2
    EXPECT_EQ(1u, Value("22012202220333"
                        "29"
                        "27")); // ... pop: 1
    EXPECT_EQ(1u, Value("2201220222033202"
                        "27")); // pick 2
    uint64_t value;
    EXPECT_EQ(GDB_AGENT_STACK, Eval(FromHex("220133"
                                            "27"),
                                    &value));
    EXPECT_EQ(GDB_AGENT_STACK, Eval(FromHex("22013205"
                                            "27"),
                                    &value));
    EXPECT_EQ(GDB_AGENT_STACK, Eval(FromHex("2b27"), &value));
    EXPECT_EQ(GDB_AGENT_STACK, Eval(FromHex("0227"), &value));
}

TEST_F(AgentTest, Jumps)
{
    // if_goto jumps when the top is not zero: 0 gives 5, 1 gives 9.
    EXPECT_EQ(5u, Value("2200"
                        "20000a"
                        "2205"
                        "21000c"
                        "2209"
                        "27"));
    EXPECT_EQ(9u, Value("2201"
                        "20000a"
                        "2205"
                        "21000c"
                        "2209"
                        "27"));
}

TEST_F(AgentTest, HostileBytecodeEndsInAnError)
{
    uint64_t value;
    EXPECT_EQ(GDB_AGENT_TOO_LONG, Eval(FromHex("210000"), &value)); // goto itself
    EXPECT_EQ(GDB_AGENT_BAD, Eval(FromHex("21ffff27"), &value));    // past the end
    EXPECT_EQ(GDB_AGENT_BAD, Eval(FromHex("2501"), &value));        // truncated const64
    EXPECT_EQ(GDB_AGENT_BAD, Eval(FromHex("26"), &value));          // truncated reg
    EXPECT_EQ(GDB_AGENT_TOO_LONG, Eval(FromHex("2201"), &value));   // no end
    EXPECT_EQ(GDB_AGENT_EMPTY_STACK, Eval(FromHex("27"), &value));
    for (int op : {0x00, 0x01, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x2c, 0x2d, 0x31, 0x35, 0xff}) {
        std::vector<uint8_t> bytes = {0x22, 0x01, (uint8_t)op, 0x00, 0x00, 0x27};
        EXPECT_EQ(GDB_AGENT_BAD, Eval(bytes, &value)) << op;
    }
    // A stack that grows forever: dup in a loop.
    EXPECT_EQ(GDB_AGENT_STACK, Eval(FromHex("2201"
                                            "28"
                                            "210002"),
                                    &value));
    EXPECT_EQ(GDB_AGENT_MEMORY, Eval(FromHex("2600ff27"), &value)); // no such register
    // Every truncation of a real condition fails cleanly or evaluates.
    std::vector<uint8_t> full = FromHex(kThirdCondition);
    SetI(906);
    for (size_t length = 0; length < full.size(); length++) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + length);
        EXPECT_NE(GDB_AGENT_OK, Eval(cut, &value)) << length;
    }
}

// printf as gdb emits it for dprintf-style agent: the arguments pushed last
// first, then the channel and the function, printf NARGS LEN FORMAT, end.
std::vector<uint8_t> PrintfBytes(const std::vector<uint8_t> &pushes, uint8_t nargs,
                                 const std::string &format)
{
    std::vector<uint8_t> bytes = pushes;
    for (uint8_t b : std::vector<uint8_t>{0x22, 0x00, 0x22, 0x00, 0x34, nargs})
        bytes.push_back(b);
    size_t length = format.size() + 1;
    bytes.push_back((uint8_t)(length >> 8));
    bytes.push_back((uint8_t)length);
    bytes.insert(bytes.end(), format.begin(), format.end());
    bytes.push_back(0);
    bytes.push_back(0x27);
    return bytes;
}

TEST_F(AgentTest, PrintfFormatsIntegersAndProgramStrings)
{
    thread.put_string(kName, "hello");
    // "i=%d s=%hd big=%ld name=%s c=%c x=%#x\n" with i=7, s=-2, big, name, 'e', 255
    std::vector<uint8_t> pushes = FromHex("22ff"         // 255
                                          "2265"         // 'e'
                                          "24004a4100"   // name
                                          "24004a40d01a" // big
                                          "22fe1608"     // -2
                                          "2207");       // 7
    uint64_t value;
    EXPECT_EQ(GDB_AGENT_EMPTY_STACK,
              Eval(PrintfBytes(pushes, 6, "i=%d s=%hd big=%ld name=%s c=%c x=%#x\n"), &value));
    EXPECT_EQ("i=7 s=-2 big=-5 name=hello c=e x=0xff\n", thread.output);
    thread.output.clear();
    EXPECT_EQ(GDB_AGENT_EMPTY_STACK, Eval(PrintfBytes(FromHex("2200"
                                                              "2205"
                                                              "24004a4100"),
                                                      3, "%5.2s|%-4u|%%|%s"),
                                          &value));
    EXPECT_EQ("   he|5   |%|(null)", thread.output);
}

// gdb 13's command for `dprintf other,"i=%d\n", i` (dprintf-style agent):
// the format comes as typed, its escapes for the target to process.
const char kDprintfCommand[] = "26000622100222ec1608021916202200220034010007693d25645c6e0027";

TEST_F(AgentTest, GdbDprintfCommand)
{
    SetI(41);
    uint64_t value;
    EXPECT_EQ(GDB_AGENT_EMPTY_STACK, Eval(FromHex(kDprintfCommand), &value));
    EXPECT_EQ("i=41\n", thread.output);
    thread.output.clear();
    EXPECT_EQ(GDB_AGENT_EMPTY_STACK, Eval(PrintfBytes({}, 0, "\\t\\\\\\\"\\e\\a"), &value));
    EXPECT_EQ("\t\\\"\033\a", thread.output);
    EXPECT_EQ(GDB_AGENT_FORMAT, Eval(PrintfBytes({}, 0, "\\q"), &value));
    EXPECT_EQ(GDB_AGENT_FORMAT, Eval(PrintfBytes({}, 0, "x\\"), &value));
}

TEST_F(AgentTest, PrintfRefusesWhatItCannotFormat)
{
    uint64_t value;
    for (const char *format : {"%n", "%*d", "%f", "%ls", "%d %d", "%99999d", "%Lf", "%"}) {
        thread.output.clear();
        EXPECT_EQ(GDB_AGENT_FORMAT, Eval(PrintfBytes(FromHex("2201"), 1, format), &value))
            << format;
        EXPECT_EQ("", thread.output) << format;
    }
    // %s of an unmapped address: an error, nothing printed.
    EXPECT_EQ(GDB_AGENT_MEMORY, Eval(PrintfBytes(FromHex("2401000000"), 1, "%s"), &value));
    // More arguments than the stack holds; an unterminated format.
    EXPECT_EQ(GDB_AGENT_STACK, Eval(PrintfBytes({}, 3, "%d"), &value));
    std::vector<uint8_t> bytes = PrintfBytes({}, 0, "x");
    bytes[bytes.size() - 2] = 'y'; // the NUL
    EXPECT_EQ(GDB_AGENT_BAD, Eval(bytes, &value));
    bytes = {0x34, 0x00, 0xff, 0xff, 'x', 0x00, 0x27}; // length past the end
    EXPECT_EQ(GDB_AGENT_BAD, Eval(bytes, &value));
}

TEST_F(AgentTest, CommandsRunInOrder)
{
    std::vector<uint8_t> a = PrintfBytes({}, 0, "a"), b = PrintfBytes({}, 0, "b");
    gdb_agent_expr list[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    gdb_breakpoint_actions actions{};
    actions.commands = list;
    actions.command_count = 2;
    gdb_agent_run_commands(&actions, &target);
    EXPECT_EQ("ab", thread.output);
}

TEST(AgentParse, ConditionsAndCommandsOfAZPacket)
{
    std::string options = std::string(";X3,220127X2,0027;cmds:1,X3,220027X1,27");
    gdb_breakpoint_actions actions;
    ASSERT_TRUE(gdb_agent_parse_actions(options.data(), options.size(), &actions));
    ASSERT_EQ(2u, actions.condition_count);
    EXPECT_EQ(3u, actions.conditions[0].length);
    EXPECT_EQ(0x22, actions.conditions[0].bytes[0]);
    EXPECT_EQ(2u, actions.conditions[1].length);
    ASSERT_EQ(2u, actions.command_count);
    EXPECT_EQ(1u, actions.commands[1].length);
    EXPECT_TRUE(actions.persist);
    gdb_breakpoint_actions copy;
    gdb_agent_copy_actions(&copy, &actions);
    gdb_agent_clear_actions(&actions);
    EXPECT_EQ(0u, actions.condition_count);
    EXPECT_EQ(0x27, copy.commands[1].bytes[0]);
    gdb_agent_clear_actions(&copy);
}

TEST(AgentParse, MalformedListsAreRefused)
{
    for (const char *bad : {";X", ";X3", ";X3,", ";X3,2201", ";X0,", ";Xzz,00", ";X3,22012g",
                            ";cmds:", ";cmds:2,X1,27", ";cmds:1,", ";cmds:1,Y1,27", ";Q", "X1,27",
                            ";X100000000000000001,00", ";X10001,00"}) {
        gdb_breakpoint_actions actions;
        EXPECT_FALSE(gdb_agent_parse_actions(bad, strlen(bad), &actions)) << bad;
        EXPECT_EQ(0u, actions.condition_count) << bad;
        EXPECT_EQ(nullptr, actions.conditions) << bad;
    }
    gdb_breakpoint_actions actions;
    EXPECT_TRUE(gdb_agent_parse_actions("", 0, &actions));
    EXPECT_EQ(0u, actions.condition_count);
}

} // namespace
