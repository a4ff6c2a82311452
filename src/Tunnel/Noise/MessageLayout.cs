namespace JumpingVpn.Tunnel.Noise;

/// <summary>
/// WireGuard v1 message types, sizes and field offsets (whitepaper §5.4.2-§5.4.6). Every multi-byte
/// integer on the wire is little-endian; the first byte is the type and the next three are reserved zero.
/// </summary>
public static class MessageLayout
{
    public const byte TypeInitiation = 1;
    public const byte TypeResponse = 2;
    public const byte TypeCookieReply = 3;
    public const byte TypeTransport = 4;

    public const int InitiationSize = 148;
    public const int ResponseSize = 92;
    public const int CookieReplySize = 64;
    public const int TransportHeaderSize = 16;
    public const int TransportMinSize = TransportHeaderSize + 16; // header + AEAD tag (a keepalive)

    // Initiation: type(4) sender(4) ephemeral(32) static(32+16) timestamp(12+16) mac1(16) mac2(16)
    public const int InitSender = 4;
    public const int InitEphemeral = 8;
    public const int InitStatic = 40;
    public const int InitTimestamp = 88;
    public const int InitMac1 = 116;
    public const int InitMac2 = 132;

    // Response: type(4) sender(4) receiver(4) ephemeral(32) empty(0+16) mac1(16) mac2(16)
    public const int RespSender = 4;
    public const int RespReceiver = 8;
    public const int RespEphemeral = 12;
    public const int RespEmpty = 44;
    public const int RespMac1 = 60;
    public const int RespMac2 = 76;

    // Cookie reply: type(4) receiver(4) nonce(24) cookie(16+16)
    public const int CookieReceiver = 4;
    public const int CookieNonce = 8;
    public const int CookieEncrypted = 32;

    // Transport data: type(4) receiver(4) counter(8) packet(n+16)
    public const int TransportReceiver = 4;
    public const int TransportCounter = 8;
    public const int TransportPayload = 16;

    /// <summary>Offset of mac1 in a handshake message of the given size (mac1 and mac2 are its last 32 bytes).</summary>
    public static int Mac1Offset(int messageSize) => messageSize - 32;

    public static int Mac2Offset(int messageSize) => messageSize - 16;
}
