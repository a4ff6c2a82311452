using System.Runtime.InteropServices;

namespace JumpingVpn.Platform.Interop.Windows;

// x64 layouts of the fwpmtypes.h structures the kill switch passes to fwpuclnt.dll (docs/platform.md §3.4). Sizes
// and offsets are pinned by tests/JumpingVpn.Tests/Platform/Windows/WfpLayoutTests.cs. Unions are written as
// explicit offsets: FWP_VALUE0/FWP_CONDITION_VALUE0 hold an 8-byte union after a 4-byte type (the pointer or
// UINT64 arm sets the alignment), FWPM_ACTION0 a 16-byte GUID union after its 4-byte type.

/// <summary>FWP_BYTE_BLOB: size, then a pointer (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct FwpByteBlob
{
    [FieldOffset(0)] public uint Size;
    [FieldOffset(8)] public byte* Data;
}

/// <summary>FWPM_DISPLAY_DATA0: name and description, UTF-16 (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct FwpmDisplayData0
{
    [FieldOffset(0)] public char* Name;
    [FieldOffset(8)] public char* Description;
}

/// <summary>FWP_VALUE0 and FWP_CONDITION_VALUE0 (same layout): a FWP_DATA_TYPE and an 8-byte union (16 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal unsafe struct FwpValue0
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(8)] public byte UInt8;
    [FieldOffset(8)] public ushort UInt16;
    [FieldOffset(8)] public uint UInt32;
    [FieldOffset(8)] public ulong* UInt64;
    [FieldOffset(8)] public byte* ByteArray16;
    [FieldOffset(8)] public FwpByteBlob* ByteBlob;
    [FieldOffset(8)] public FwpV4AddrAndMask* V4AddrMask;
    [FieldOffset(8)] public FwpV6AddrAndMask* V6AddrMask;
}

/// <summary>FWP_V4_ADDR_AND_MASK: address and mask, both host order (8 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
internal struct FwpV4AddrAndMask
{
    [FieldOffset(0)] public uint Address;
    [FieldOffset(4)] public uint Mask;
}

/// <summary>FWP_V6_ADDR_AND_MASK: 16 address bytes and the prefix length (17 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 17)]
internal unsafe struct FwpV6AddrAndMask
{
    [FieldOffset(0)] public fixed byte Address[16];
    [FieldOffset(16)] public byte PrefixLength;
}

/// <summary>FWPM_FILTER_CONDITION0: field GUID, match type, value (40 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal struct FwpmFilterCondition0
{
    [FieldOffset(0)] public Guid FieldKey;
    [FieldOffset(16)] public uint MatchType;
    [FieldOffset(24)] public FwpValue0 ConditionValue;
}

/// <summary>FWPM_ACTION0: action type and the filter-type/callout GUID union (20 bytes, 4-aligned).</summary>
[StructLayout(LayoutKind.Explicit, Size = 20)]
internal struct FwpmAction0
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public Guid FilterType;
}

/// <summary>FWPM_FILTER0 (200 bytes on x64).</summary>
[StructLayout(LayoutKind.Explicit, Size = 200)]
internal unsafe struct FwpmFilter0
{
    [FieldOffset(0)] public Guid FilterKey;
    [FieldOffset(16)] public FwpmDisplayData0 DisplayData;
    [FieldOffset(32)] public uint Flags;
    [FieldOffset(40)] public Guid* ProviderKey;
    [FieldOffset(48)] public FwpByteBlob ProviderData;
    [FieldOffset(64)] public Guid LayerKey;
    [FieldOffset(80)] public Guid SubLayerKey;
    [FieldOffset(96)] public FwpValue0 Weight;
    [FieldOffset(112)] public uint NumFilterConditions;
    [FieldOffset(120)] public FwpmFilterCondition0* FilterCondition;
    [FieldOffset(128)] public FwpmAction0 Action;
    [FieldOffset(152)] public ulong RawContext;
    [FieldOffset(168)] public Guid* Reserved;
    [FieldOffset(176)] public ulong FilterId;
    [FieldOffset(184)] public FwpValue0 EffectiveWeight;
}

/// <summary>FWPM_SUBLAYER0 (72 bytes on x64).</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal unsafe struct FwpmSubLayer0
{
    [FieldOffset(0)] public Guid SubLayerKey;
    [FieldOffset(16)] public FwpmDisplayData0 DisplayData;
    [FieldOffset(32)] public ushort Flags;
    [FieldOffset(40)] public Guid* ProviderKey;
    [FieldOffset(48)] public FwpByteBlob ProviderData;
    [FieldOffset(64)] public ushort Weight;
}

/// <summary>FWPM_PROVIDER0 (64 bytes on x64).</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal unsafe struct FwpmProvider0
{
    [FieldOffset(0)] public Guid ProviderKey;
    [FieldOffset(16)] public FwpmDisplayData0 DisplayData;
    [FieldOffset(32)] public uint Flags;
    [FieldOffset(40)] public FwpByteBlob ProviderData;
    [FieldOffset(56)] public char* ServiceName;
}

/// <summary>Constants of fwptypes.h, fwpmtypes.h, fwpmu.h and winerror.h the kill switch uses.</summary>
internal static class WfpConstants
{
    public const uint RpcCAuthnWinNt = 10;

    public const uint FwpUInt8 = 1;
    public const uint FwpUInt16 = 2;
    public const uint FwpUInt32 = 3;
    public const uint FwpUInt64 = 4;
    public const uint FwpByteArray16Type = 11;
    public const uint FwpByteBlobType = 12;
    public const uint FwpV4AddrMask = 0x100;
    public const uint FwpV6AddrMask = 0x101;

    public const uint ActionBlock = 0x1001;
    public const uint ActionPermit = 0x1002;

    public const uint FilterFlagPersistent = 0x1;
    public const ushort SubLayerFlagPersistent = 0x1;
    public const uint ProviderFlagPersistent = 0x1;

    public const uint ErrorFilterNotFound = 0x80320003;
    public const uint ErrorProviderNotFound = 0x80320005;
    public const uint ErrorSubLayerNotFound = 0x80320007;
    public const uint ErrorAlreadyExists = 0x80320009;

    public static readonly Guid LayerAleAuthConnectV4 = new("c38d57d1-05a7-4c33-904f-7fbceee60e82");
    public static readonly Guid LayerAleAuthConnectV6 = new("4a72393b-319f-44bc-84c3-ba54dcb3b6b4");
    public static readonly Guid ConditionIpLocalInterface = new("4cd62a49-59c3-4969-b7f3-bda5d32890a4");
    public static readonly Guid ConditionIpRemoteAddress = new("b235ae9a-1d64-49b8-a44c-5ff3d9095045");
    public static readonly Guid ConditionIpRemotePort = new("c35a604d-d22b-4e1a-91b4-68f674ee674b");
    public static readonly Guid ConditionIpLocalPort = new("0c1ba1af-5765-453f-af22-a8f791ac775b");
    public static readonly Guid ConditionIpProtocol = new("3971ef2b-623e-4f9a-8cb1-6e79b806b9a7");
    public static readonly Guid ConditionFlags = new("632ce23b-5167-435c-86d7-e903684aa80c");
    public static readonly Guid ConditionAleAppId = new("d78e1e87-8644-4ea5-9437-d809ecefc971");
}
