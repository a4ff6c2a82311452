using System.Reflection;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>The Wintun P/Invokes against wintun.h / exports.def 0.14 (docs/platform.md §1.1, §1.5).</summary>
public class WintunBindingTests
{
    // export name, SetLastError (documented GetLastError on failure), takes strings
    public static TheoryData<string, string, bool, bool> Exports => new()
    {
        { nameof(Wintun.CreateAdapter), "WintunCreateAdapter", true, true },
        { nameof(Wintun.OpenAdapter), "WintunOpenAdapter", true, true },
        { nameof(Wintun.CloseAdapter), "WintunCloseAdapter", false, false },
        { nameof(Wintun.DeleteDriver), "WintunDeleteDriver", true, false },
        { nameof(Wintun.GetAdapterLuid), "WintunGetAdapterLUID", false, false },
        { nameof(Wintun.GetRunningDriverVersion), "WintunGetRunningDriverVersion", true, false },
        { nameof(Wintun.SetLogger), "WintunSetLogger", false, false },
        { nameof(Wintun.StartSession), "WintunStartSession", true, false },
        { nameof(Wintun.EndSession), "WintunEndSession", false, false },
        { nameof(Wintun.GetReadWaitEvent), "WintunGetReadWaitEvent", false, false },
        { nameof(Wintun.ReceivePacket), "WintunReceivePacket", true, false },
        { nameof(Wintun.ReleaseReceivePacket), "WintunReleaseReceivePacket", false, false },
        { nameof(Wintun.AllocateSendPacket), "WintunAllocateSendPacket", true, false },
        { nameof(Wintun.SendPacket), "WintunSendPacket", false, false },
    };

    private static MethodInfo Method(string name) =>
        typeof(Wintun).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException($"Wintun.{name} missing");

    [Theory]
    [MemberData(nameof(Exports))]
    public void ExportIsBoundWithTheRightAttributes(string method, string entryPoint, bool setLastError, bool hasStrings)
    {
        MethodInfo m = Method(method);
        LibraryImportAttribute import = m.GetCustomAttribute<LibraryImportAttribute>()
            ?? throw new InvalidOperationException($"{method} has no [LibraryImport]");
        Assert.Equal("wintun", import.LibraryName);
        Assert.Equal(entryPoint, import.EntryPoint);
        Assert.Equal(setLastError, import.SetLastError);
        // WINAPI is the platform default on x64/arm64: no explicit calling convention must override it.
        Assert.Null(m.GetCustomAttribute<UnmanagedCallConvAttribute>());
        bool stringParameters = Array.Exists(m.GetParameters(), p => p.ParameterType == typeof(string));
        Assert.Equal(hasStrings, stringParameters);
        if (hasStrings)
        {
            Assert.Equal(StringMarshalling.Utf16, import.StringMarshalling); // LPCWSTR
        }
    }

    [Fact]
    public void AllFourteenExportsAndNothingElseAreBound()
    {
        var bound = new List<string>();
        foreach (MethodInfo m in typeof(Wintun).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
        {
            if (m.GetCustomAttribute<LibraryImportAttribute>() is { } a)
            {
                bound.Add(a.EntryPoint!);
            }
        }
        bound.Sort(StringComparer.Ordinal);
        var expected = new List<string>();
        foreach (var row in Exports)
        {
            expected.Add((string)row.Data.Item2);
        }
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, bound);
    }

    [Fact]
    public unsafe void PointerAndHandleShapesMatchTheHeader()
    {
        // const GUID *RequestedGUID (nullable) — not a uint, not a Guid by value.
        Assert.Equal(typeof(Guid*), Method(nameof(Wintun.CreateAdapter)).GetParameters()[2].ParameterType);
        // NET_LUID *Luid: 8 bytes out.
        Assert.Equal(typeof(ulong).MakeByRefType(), Method(nameof(Wintun.GetAdapterLuid)).GetParameters()[1].ParameterType);
        Assert.True(Method(nameof(Wintun.GetAdapterLuid)).GetParameters()[1].IsOut);
        // DWORD *PacketSize out, BYTE* packet back.
        MethodInfo receive = Method(nameof(Wintun.ReceivePacket));
        Assert.Equal(typeof(byte*), receive.ReturnType);
        Assert.Equal(typeof(uint).MakeByRefType(), receive.GetParameters()[1].ParameterType);
        Assert.Equal(typeof(byte*), Method(nameof(Wintun.AllocateSendPacket)).ReturnType);
        Assert.Equal(typeof(uint), Method(nameof(Wintun.AllocateSendPacket)).GetParameters()[1].ParameterType);
        Assert.Equal(typeof(uint), Method(nameof(Wintun.StartSession)).GetParameters()[1].ParameterType);
        // BOOL WintunDeleteDriver: 4-byte Win32 BOOL, not a 1-byte bool.
        MarshalAsAttribute? ret = Method(nameof(Wintun.DeleteDriver)).ReturnParameter.GetCustomAttribute<MarshalAsAttribute>();
        Assert.Equal(UnmanagedType.Bool, ret?.Value);
        // Handles are pointer-sized.
        Assert.Equal(typeof(nint), Method(nameof(Wintun.OpenAdapter)).ReturnType);
        Assert.Equal(typeof(nint), Method(nameof(Wintun.GetReadWaitEvent)).ReturnType);
    }

    [Theory]
    [InlineData(0x20000u, true)]
    [InlineData(0x800000u, true)]
    [InlineData(0x4000000u, true)]
    [InlineData(0x10000u, false)]
    [InlineData(0x8000000u, false)]
    [InlineData(0x30000u, false)]
    [InlineData(0u, false)]
    public void RingCapacityMustBeAPowerOfTwoWithinBounds(uint capacity, bool valid) =>
        Assert.Equal(valid, WintunConstants.IsValidRingCapacity(capacity));

    [Fact]
    public void ConstantsMatchTheHeaderAndWinError()
    {
        Assert.Equal(0x20000u, WintunConstants.MinRingCapacity);
        Assert.Equal(0x4000000u, WintunConstants.MaxRingCapacity);
        Assert.Equal(259, WintunConstants.ErrorNoMoreItems);
        Assert.Equal(38, WintunConstants.ErrorHandleEof);
        Assert.Equal(13, WintunConstants.ErrorInvalidData);
        Assert.Equal(111, WintunConstants.ErrorBufferOverflow);
        Assert.True(WintunConstants.IsValidRingCapacity(JumpingVpn.Platform.Tun.Windows.WintunDevice.DefaultRingCapacity));
    }

    [Fact]
    public void LoaderLooksOnlyInTheApplicationDirectoryAndSystem32()
    {
        string dir = Path.Combine(Path.GetTempPath(), "jvpn-app");
        Assert.Equal(Path.Combine(dir, "wintun.dll"), WintunLoader.ApplicationPath(dir));
        Assert.Equal(DllImportSearchPath.ApplicationDirectory | DllImportSearchPath.System32, WintunLoader.SearchPaths);
        Assert.False(WintunLoader.SearchPaths.HasFlag(DllImportSearchPath.UseDllDirectoryForDependencies));
        Assert.False(WintunLoader.SearchPaths.HasFlag(DllImportSearchPath.SafeDirectories)); // would include PATH
    }
}
