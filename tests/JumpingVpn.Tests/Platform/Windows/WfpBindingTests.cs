using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using JumpingVpn.Platform.Interop.Windows;

namespace JumpingVpn.Tests.Platform.Windows;

/// <summary>
/// The kill switch's WFP bindings (docs/platform.md §3.4): x64 sizes and offsets of the fwpmtypes.h structures
/// (FWPM_FILTER0 200 bytes with its action at 128 and context at 152, FWPM_SUBLAYER0 72, FWPM_PROVIDER0 64,
/// FWPM_FILTER_CONDITION0 40, FWP_VALUE0 16), the layer and condition GUIDs of fwpmu.h, and the exports.
/// </summary>
public sealed class WfpBindingTests
{
    private static int Off<T>(string field) => (int)Marshal.OffsetOf<T>(field);

    [Fact]
    public void Filter_layout_matches_fwpmtypes_on_x64()
    {
        Assert.Equal(200, Unsafe.SizeOf<FwpmFilter0>());
        Assert.Equal(
            [0, 16, 32, 40, 48, 64, 80, 96, 112, 120, 128, 152, 168, 176, 184],
            new[]
            {
                nameof(FwpmFilter0.FilterKey), nameof(FwpmFilter0.DisplayData), nameof(FwpmFilter0.Flags), nameof(FwpmFilter0.ProviderKey),
                nameof(FwpmFilter0.ProviderData), nameof(FwpmFilter0.LayerKey), nameof(FwpmFilter0.SubLayerKey), nameof(FwpmFilter0.Weight),
                nameof(FwpmFilter0.NumFilterConditions), nameof(FwpmFilter0.FilterCondition), nameof(FwpmFilter0.Action),
                nameof(FwpmFilter0.RawContext), nameof(FwpmFilter0.Reserved), nameof(FwpmFilter0.FilterId), nameof(FwpmFilter0.EffectiveWeight),
            }.Select(Off<FwpmFilter0>));
    }

    [Fact]
    public void Small_structures_match_fwpmtypes_on_x64()
    {
        Assert.Equal(
            (16, 16, 16, 40, 20, 72, 64),
            (Unsafe.SizeOf<FwpByteBlob>(), Unsafe.SizeOf<FwpmDisplayData0>(), Unsafe.SizeOf<FwpValue0>(), Unsafe.SizeOf<FwpmFilterCondition0>(),
                Unsafe.SizeOf<FwpmAction0>(), Unsafe.SizeOf<FwpmSubLayer0>(), Unsafe.SizeOf<FwpmProvider0>()));
        Assert.Equal((16, 24), (Off<FwpmFilterCondition0>(nameof(FwpmFilterCondition0.MatchType)), Off<FwpmFilterCondition0>(nameof(FwpmFilterCondition0.ConditionValue))));
        Assert.Equal((8, 8), (Off<FwpValue0>(nameof(FwpValue0.UInt32)), Off<FwpValue0>(nameof(FwpValue0.UInt64))));
        Assert.Equal((32, 40, 64), (Off<FwpmSubLayer0>(nameof(FwpmSubLayer0.Flags)), Off<FwpmSubLayer0>(nameof(FwpmSubLayer0.ProviderKey)), Off<FwpmSubLayer0>(nameof(FwpmSubLayer0.Weight))));
        Assert.Equal((40, 56), (Off<FwpmProvider0>(nameof(FwpmProvider0.ProviderData)), Off<FwpmProvider0>(nameof(FwpmProvider0.ServiceName))));
    }

    /// <summary>"Allow LAN"'s subnet conditions (docs/platform.md §4.8): FWP_V4_ADDR_AND_MASK (address, mask: 8 bytes),
    /// FWP_V6_ADDR_AND_MASK (16 address bytes, prefix length: 17 bytes), data types 0x100 and 0x101 (after
    /// FWP_SINGLE_DATA_TYPE_MAX 0xff), reached through the value union's pointer arm at offset 8.</summary>
    [Fact]
    public void Address_and_mask_structures_match_fwptypes()
    {
        Assert.Equal((8, 17), (Unsafe.SizeOf<FwpV4AddrAndMask>(), Unsafe.SizeOf<FwpV6AddrAndMask>()));
        Assert.Equal((0, 4), (Off<FwpV4AddrAndMask>(nameof(FwpV4AddrAndMask.Mask)) - 4, Off<FwpV4AddrAndMask>(nameof(FwpV4AddrAndMask.Mask))));
        Assert.Equal(16, Off<FwpV6AddrAndMask>(nameof(FwpV6AddrAndMask.PrefixLength)));
        Assert.Equal((0x100u, 0x101u), (WfpConstants.FwpV4AddrMask, WfpConstants.FwpV6AddrMask));
        Assert.Equal((8, 8), (Off<FwpValue0>(nameof(FwpValue0.V4AddrMask)), Off<FwpValue0>(nameof(FwpValue0.V6AddrMask))));
    }

    [Fact]
    public void Guids_are_the_sdks()
    {
        Assert.Equal("c38d57d1-05a7-4c33-904f-7fbceee60e82", WfpConstants.LayerAleAuthConnectV4.ToString());
        Assert.Equal("4a72393b-319f-44bc-84c3-ba54dcb3b6b4", WfpConstants.LayerAleAuthConnectV6.ToString());
        Assert.Equal("4cd62a49-59c3-4969-b7f3-bda5d32890a4", WfpConstants.ConditionIpLocalInterface.ToString());
        Assert.Equal("b235ae9a-1d64-49b8-a44c-5ff3d9095045", WfpConstants.ConditionIpRemoteAddress.ToString());
        Assert.Equal("c35a604d-d22b-4e1a-91b4-68f674ee674b", WfpConstants.ConditionIpRemotePort.ToString());
        Assert.Equal("0c1ba1af-5765-453f-af22-a8f791ac775b", WfpConstants.ConditionIpLocalPort.ToString());
        Assert.Equal("3971ef2b-623e-4f9a-8cb1-6e79b806b9a7", WfpConstants.ConditionIpProtocol.ToString());
        Assert.Equal("632ce23b-5167-435c-86d7-e903684aa80c", WfpConstants.ConditionFlags.ToString());
        Assert.Equal("d78e1e87-8644-4ea5-9437-d809ecefc971", WfpConstants.ConditionAleAppId.ToString());
        // The GUID struct's in-memory order is Data1 little-endian, as WFP reads it.
        Assert.Equal([0xd1, 0x57, 0x8d, 0xc3, 0xa7, 0x05, 0x33, 0x4c, 0x90, 0x4f], WfpConstants.LayerAleAuthConnectV4.ToByteArray()[..10]);
    }

    [Fact]
    public void Every_export_is_bound_from_fwpuclnt_with_utf16_strings()
    {
        var bound = new SortedSet<string>(StringComparer.Ordinal);
        foreach (MethodInfo m in typeof(Fwpuclnt).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
        {
            if (m.GetCustomAttribute<LibraryImportAttribute>() is { } a)
            {
                Assert.Equal("fwpuclnt.dll", a.LibraryName);
                Assert.Equal(m.Name, a.EntryPoint);
                Assert.Null(m.GetCustomAttribute<UnmanagedCallConvAttribute>()); // WINAPI: the x64 default
                if (Array.Exists(m.GetParameters(), p => p.ParameterType == typeof(string)))
                {
                    Assert.Equal(StringMarshalling.Utf16, a.StringMarshalling);
                }
                bound.Add(a.EntryPoint!);
            }
        }

        Assert.Equal(
            [
                "FwpmEngineClose0", "FwpmEngineOpen0", "FwpmFilterAdd0", "FwpmFilterDeleteByKey0", "FwpmFreeMemory0", "FwpmGetAppIdFromFileName0",
                "FwpmProviderAdd0", "FwpmSubLayerAdd0", "FwpmSubLayerDeleteByKey0", "FwpmSubLayerGetByKey0", "FwpmTransactionAbort0",
                "FwpmTransactionBegin0", "FwpmTransactionCommit0",
            ],
            bound);
    }
}
