using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using JumpingVpn.Platform.Interop.Windows;
using JumpingVpn.Platform.Net.KillSwitch;

namespace JumpingVpn.Platform.Net.Windows;

/// <summary>
/// The Windows kill switch (docs/platform.md §3.4): the filters of <see cref="WfpFilterPlan"/> added to the base
/// filtering engine in one transaction, under jvpn's provider and a sublayer per tunnel. They are persistent, not a
/// dynamic session's, so like the Linux table they outlive a crashed jvpn (lockdown) until `jvpn down NAME` or the
/// toggle deletes them by key. Compiled and structure-tested on Linux; not yet run on Windows.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed unsafe class WfpKillSwitch : IKillSwitch
{
    /// <summary>Bytes per out-of-union condition value: the largest is FWP_V6_ADDR_AND_MASK (17), rounded to 8.</summary>
    private const int ExtraSlot = 24;

    public void Install(KillSwitchRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ulong luid;
        Check(IpHelper.ConvertInterfaceAliasToLuid(rules.TunnelInterface, &luid), $"finding adapter {rules.TunnelInterface}");
        IReadOnlyList<WfpFilterSpec> plan = WfpFilterPlan.Build(rules, luid);
        string exe = Environment.ProcessPath ?? throw new PlatformException("cannot find jvpn's own executable for the kill switch's server rule");
        FwpByteBlob* appId = null;
        Check(Fwpuclnt.FwpmGetAppIdFromFileName0(exe, &appId), "reading jvpn's application id");
        nint blob = (nint)appId;
        try
        {
            InTransaction(engine =>
            {
                AddProvider(engine);
                DeleteFilters(engine, rules.TunnelInterface);
                AddSubLayer(engine, rules.TunnelInterface);
                foreach (WfpFilterSpec spec in plan)
                {
                    AddFilter(engine, spec, (FwpByteBlob*)blob);
                }
            });
        }
        finally
        {
            Fwpuclnt.FwpmFreeMemory0((void**)&appId);
        }
    }

    public bool Remove(string tunnelInterface)
    {
        bool present = IsInstalled(tunnelInterface);
        InTransaction(engine =>
        {
            DeleteFilters(engine, tunnelInterface);
            Guid key = WfpFilterPlan.SubLayerKey(tunnelInterface);
            uint r = Fwpuclnt.FwpmSubLayerDeleteByKey0(engine, &key);
            if (r != 0 && r != WfpConstants.ErrorSubLayerNotFound)
            {
                Check(r, "deleting the kill switch's sublayer");
            }
        });
        return present;
    }

    public bool IsInstalled(string tunnelInterface)
    {
        nint engine = Open();
        try
        {
            Guid key = WfpFilterPlan.SubLayerKey(tunnelInterface);
            FwpmSubLayer0* found = null;
            uint r = Fwpuclnt.FwpmSubLayerGetByKey0(engine, &key, &found);
            if (r == WfpConstants.ErrorSubLayerNotFound)
            {
                return false;
            }
            Check(r, "reading the kill switch's sublayer");
            Fwpuclnt.FwpmFreeMemory0((void**)&found);
            return true;
        }
        finally
        {
            _ = Fwpuclnt.FwpmEngineClose0(engine);
        }
    }

    /// <summary>WFP keeps no per-filter packet counts without net-event auditing: unknown.</summary>
    public long? Refused(string tunnelInterface) => null;

    private static nint Open()
    {
        nint engine;
        Check(Fwpuclnt.FwpmEngineOpen0(null, WfpConstants.RpcCAuthnWinNt, null, null, &engine), "opening the Windows Filtering Platform (run as Administrator or LocalSystem)");
        return engine;
    }

    private static void InTransaction(Action<nint> work)
    {
        nint engine = Open();
        try
        {
            Check(Fwpuclnt.FwpmTransactionBegin0(engine, 0), "starting a WFP transaction");
            try
            {
                work(engine);
                Check(Fwpuclnt.FwpmTransactionCommit0(engine), "committing the kill switch's filters");
            }
            catch
            {
                _ = Fwpuclnt.FwpmTransactionAbort0(engine);
                throw;
            }
        }
        finally
        {
            _ = Fwpuclnt.FwpmEngineClose0(engine);
        }
    }

    private static void AddProvider(nint engine)
    {
        fixed (char* name = "jvpn")
        {
            var provider = new FwpmProvider0
            {
                ProviderKey = WfpFilterPlan.ProviderKey,
                DisplayData = new FwpmDisplayData0 { Name = name },
                Flags = WfpConstants.ProviderFlagPersistent,
            };
            uint r = Fwpuclnt.FwpmProviderAdd0(engine, &provider, null);
            if (r != WfpConstants.ErrorAlreadyExists)
            {
                Check(r, "adding jvpn's WFP provider");
            }
        }
    }

    private static void AddSubLayer(nint engine, string tunnelInterface)
    {
        Guid provider = WfpFilterPlan.ProviderKey;
        fixed (char* name = "jvpn kill switch " + tunnelInterface)
        {
            var subLayer = new FwpmSubLayer0
            {
                SubLayerKey = WfpFilterPlan.SubLayerKey(tunnelInterface),
                DisplayData = new FwpmDisplayData0 { Name = name },
                Flags = WfpConstants.SubLayerFlagPersistent,
                ProviderKey = &provider,
                // Above other sublayers: a block here is final whatever another product's sublayer permits.
                Weight = ushort.MaxValue,
            };
            uint r = Fwpuclnt.FwpmSubLayerAdd0(engine, &subLayer, null);
            if (r != WfpConstants.ErrorAlreadyExists)
            {
                Check(r, "adding the kill switch's WFP sublayer");
            }
        }
    }

    private static void DeleteFilters(nint engine, string tunnelInterface)
    {
        foreach (Guid k in WfpFilterPlan.AllKeys(tunnelInterface))
        {
            Guid key = k;
            uint r = Fwpuclnt.FwpmFilterDeleteByKey0(engine, &key);
            if (r != 0 && r != WfpConstants.ErrorFilterNotFound)
            {
                Check(r, "deleting an earlier kill switch filter");
            }
        }
    }

    private static void AddFilter(nint engine, WfpFilterSpec spec, FwpByteBlob* appId)
    {
        int n = spec.Conditions.Count;
        // Condition values that do not fit the union (UINT64 LUIDs, 16-byte addresses, address and mask) live in one
        // native block, a slot of ExtraSlot bytes each, freed after the call; WFP copies everything it keeps.
        var conditions = (FwpmFilterCondition0*)NativeMemory.AllocZeroed((nuint)Math.Max(1, n), (nuint)sizeof(FwpmFilterCondition0));
        var extra = (byte*)NativeMemory.AllocZeroed((nuint)Math.Max(1, n), ExtraSlot);
        Guid provider = WfpFilterPlan.ProviderKey;
        try
        {
            for (int i = 0; i < n; i++)
            {
                conditions[i] = Condition(spec.Conditions[i], extra + (i * ExtraSlot), appId);
            }
            fixed (char* name = spec.Name)
            {
                var filter = new FwpmFilter0
                {
                    FilterKey = spec.Key,
                    DisplayData = new FwpmDisplayData0 { Name = name },
                    Flags = WfpConstants.FilterFlagPersistent,
                    ProviderKey = &provider,
                    LayerKey = spec.Layer == WfpLayer.AleAuthConnectV4 ? WfpConstants.LayerAleAuthConnectV4 : WfpConstants.LayerAleAuthConnectV6,
                    SubLayerKey = WfpFilterPlan.SubLayerKey(TunnelOf(spec)),
                    Weight = new FwpValue0 { Type = WfpConstants.FwpUInt8, UInt8 = spec.Weight },
                    NumFilterConditions = (uint)n,
                    FilterCondition = n == 0 ? null : conditions,
                    Action = new FwpmAction0 { Type = spec.Permit ? WfpConstants.ActionPermit : WfpConstants.ActionBlock },
                };
                ulong id;
                Check(Fwpuclnt.FwpmFilterAdd0(engine, &filter, null, &id), $"adding filter '{spec.Name}'");
            }
        }
        finally
        {
            NativeMemory.Free(conditions);
            NativeMemory.Free(extra);
        }
    }

    /// <summary>The tunnel name is the part of the display name between "jvpn kill switch " and ": ".</summary>
    private static string TunnelOf(WfpFilterSpec spec)
    {
        const string Prefix = "jvpn kill switch ";
        int colon = spec.Name.IndexOf(": ", StringComparison.Ordinal);
        return spec.Name[Prefix.Length..colon];
    }

    private static FwpmFilterCondition0 Condition(WfpCondition c, byte* extra, FwpByteBlob* appId)
    {
        var value = new FwpValue0();
        Guid field;
        switch (c.Field)
        {
            case WfpField.LocalInterface:
                field = WfpConstants.ConditionIpLocalInterface;
                *(ulong*)extra = c.Number;
                value.Type = WfpConstants.FwpUInt64;
                value.UInt64 = (ulong*)extra;
                break;
            case WfpField.RemoteAddress when c.Address16 is { } bytes:
                field = WfpConstants.ConditionIpRemoteAddress;
                bytes.CopyTo(new Span<byte>(extra, 16));
                value.Type = WfpConstants.FwpByteArray16Type;
                value.ByteArray16 = extra;
                break;
            case WfpField.RemoteAddress:
                field = WfpConstants.ConditionIpRemoteAddress;
                value.Type = WfpConstants.FwpUInt32;
                value.UInt32 = (uint)c.Number;
                break;
            case WfpField.RemoteSubnet when c.Address16 is { } bytes:
                field = WfpConstants.ConditionIpRemoteAddress;
                var v6 = (FwpV6AddrAndMask*)extra;
                bytes.CopyTo(new Span<byte>(v6->Address, 16));
                v6->PrefixLength = (byte)c.PrefixLength;
                value.Type = WfpConstants.FwpV6AddrMask;
                value.V6AddrMask = v6;
                break;
            case WfpField.RemoteSubnet:
                field = WfpConstants.ConditionIpRemoteAddress;
                var v4 = (FwpV4AddrAndMask*)extra;
                v4->Address = (uint)c.Number;
                v4->Mask = c.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - c.PrefixLength);
                value.Type = WfpConstants.FwpV4AddrMask;
                value.V4AddrMask = v4;
                break;
            case WfpField.RemotePort or WfpField.LocalPort or WfpField.IcmpType:
                field = c.Field == WfpField.RemotePort ? WfpConstants.ConditionIpRemotePort : WfpConstants.ConditionIpLocalPort;
                value.Type = WfpConstants.FwpUInt16;
                value.UInt16 = (ushort)c.Number;
                break;
            case WfpField.Protocol:
                field = WfpConstants.ConditionIpProtocol;
                value.Type = WfpConstants.FwpUInt8;
                value.UInt8 = (byte)c.Number;
                break;
            case WfpField.Flags:
                field = WfpConstants.ConditionFlags;
                value.Type = WfpConstants.FwpUInt32;
                value.UInt32 = (uint)c.Number;
                break;
            case WfpField.AppId:
                field = WfpConstants.ConditionAleAppId;
                value.Type = WfpConstants.FwpByteBlobType;
                value.ByteBlob = appId;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(c), c.Field, "unknown WFP condition field");
        }
        return new FwpmFilterCondition0 { FieldKey = field, MatchType = (uint)c.Match, ConditionValue = value };
    }

    private static void Check(uint result, string what)
    {
        if (result != 0)
        {
            throw new PlatformException($"{what} failed: error 0x{result:x8}");
        }
    }
}
