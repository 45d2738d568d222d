using System.Buffers.Binary;

namespace HyperDex.Runtime.Devices;

/// <summary>What the xocl/xclmgmt drivers expose through sysfs about a card; null where a node is absent.</summary>
public sealed record XoclTelemetry(
    string? Shell,
    string? XclbinUuid,
    double? TemperatureC,
    double? PowerW,
    double? PowerCapW,
    long? MemoryTotalBytes,
    long? MemoryUsedBytes)
{
    public static readonly XoclTelemetry None = new(null, null, null, null, null, null, null);

    // Node names are the ones XRT itself reads (Xilinx/XRT src/runtime_src/core/pcie/linux/device_linux.cpp,
    // initialize_query_table): rom/VBNV, xmc/xmc_fpga_temp (°C), xmc/xmc_power (µW), xmc/max_power (a level),
    // icap/mem_topology (binary), memstat_raw and xclbinuuid on the user function.
    private const byte MemDdr3 = 0, MemDdr4 = 1, MemDram = 2, MemHbm = 6;
    private const int MemTopologyHeader = 8; // int32 m_count, padded to the 8-byte alignment of mem_data
    private const int MemDataSize = 40; // u8 type, u8 used, 6 pad, u64 size (KiB), u64 base, char tag[16]

    /// <summary>Reads the user function first and falls back to the management one (sensors live on either).</summary>
    public static XoclTelemetry Read(PciFunction? user, PciFunction? management)
    {
        string?[] dirs = [user?.Directory, management?.Directory];
        string? shell = FirstText(dirs, "rom", "VBNV");
        long? temperature = FirstInteger(dirs, "xmc", "xmc_fpga_temp");
        long? microwatts = FirstInteger(dirs, "xmc", "xmc_power");
        long? powerLevel = FirstInteger(dirs, "xmc", "max_power");

        (long? total, long? used) = user is null ? (null, null) : ReadMemory(user.Directory);
        string? uuid = user is null ? null : SysfsFiles.ReadText(Path.Combine(user.Directory, "xclbinuuid"));
        return new XoclTelemetry(
            string.IsNullOrEmpty(shell) ? null : shell,
            uuid is null || uuid.All(c => c is '0' or '-') ? null : uuid, // all zeros: no xclbin
            temperature is > 0 ? temperature : null, // XRT treats 0 as "sensor not present"
            microwatts is >= 0 ? microwatts / 1e6 : null,
            PowerCapOf(powerLevel),
            total,
            used);
    }

    /// <summary>The xmc max_power level as XRT's report maps it (lvl_to_power_watts): 0 → 75 W, 1 → 150 W, 2 → 225 W.</summary>
    internal static double? PowerCapOf(long? level) => level switch
    {
        0 => 75,
        1 => 150,
        2 => 225,
        _ => null,
    };

    /// <summary>
    /// Device memory of the loaded xclbin: the used DDR/HBM banks of mem_topology (without banks tagged HOST), and
    /// the bytes allocated in them from memstat_raw ("&lt;bytes&gt; &lt;bo count&gt;" per bank, same order). No xclbin → 0 / 0.
    /// </summary>
    internal static (long? Total, long? Used) ReadMemory(string userDirectory)
    {
        string? icap = SysfsFiles.FindSubdevice(userDirectory, "icap");
        byte[]? topology = icap is null ? null : SysfsFiles.ReadBytes(Path.Combine(icap, "mem_topology"));
        string? memstat = SysfsFiles.ReadText(Path.Combine(userDirectory, "memstat_raw"));
        string[] usage = memstat?.Split('\n', StringSplitOptions.RemoveEmptyEntries) ?? [];

        if (topology is null)
        {
            return (null, memstat is null ? null : usage.Sum(line => FirstNumber(line) ?? 0));
        }

        if (topology.Length < 4)
        {
            return (0, memstat is null ? null : 0); // empty node: no xclbin, so no device memory is mapped
        }

        int count = BinaryPrimitives.ReadInt32LittleEndian(topology);
        long total = 0, used = 0;
        for (int i = 0; i < count; i++)
        {
            int offset = MemTopologyHeader + (i * MemDataSize);
            if (offset + MemDataSize > topology.Length)
            {
                return (null, null); // truncated: better unknown than wrong
            }

            ReadOnlySpan<byte> bank = topology.AsSpan(offset, MemDataSize);
            byte type = bank[0];
            bool inUse = bank[1] != 0;
            string tag = System.Text.Encoding.ASCII.GetString(bank.Slice(24, 16)).TrimEnd('\0');
            if (!inUse || type is not (MemDdr3 or MemDdr4 or MemDram or MemHbm) || tag.StartsWith("HOST", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            total += (long)BinaryPrimitives.ReadUInt64LittleEndian(bank.Slice(8, 8)) * 1024;
            if (i < usage.Length)
            {
                used += FirstNumber(usage[i]) ?? 0;
            }
        }

        return (total, memstat is null ? null : used);
    }

    private static long? FirstNumber(string line)
    {
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 0 ? SysfsFiles.ParseInteger(fields[0]) : null;
    }

    private static string? FirstText(string?[] dirs, string subdevice, string node)
    {
        foreach (string? dir in dirs)
        {
            string? sub = dir is null ? null : SysfsFiles.FindSubdevice(dir, subdevice);
            if (sub is not null && SysfsFiles.ReadText(Path.Combine(sub, node)) is { Length: > 0 } text)
            {
                return text;
            }
        }

        return null;
    }

    private static long? FirstInteger(string?[] dirs, string subdevice, string node)
    {
        foreach (string? dir in dirs)
        {
            string? sub = dir is null ? null : SysfsFiles.FindSubdevice(dir, subdevice);
            if (sub is not null && SysfsFiles.ReadInteger(Path.Combine(sub, node)) is long value)
            {
                return value;
            }
        }

        return null;
    }
}
