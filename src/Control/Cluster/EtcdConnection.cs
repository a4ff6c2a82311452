using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JumpingVpn.Control.Cluster;

/// <summary>
/// The gRPC connection of <see cref="EtcdSessionStore"/> to the members an `etcd[s]://` URL lists
/// (docs/cluster.md "etcd"): one channel balancing over the members that answer, no client-side retries (a
/// call that fails is reported, never replayed: the session layer decides, docs/session-spec.md §5.2.3), every
/// call bounded by the caller's deadline. With a user and password it authenticates (etcd's Authenticate)
/// and sends the token with each call; a token the server no longer knows (etcd restarted, or the token's
/// idle time ran out) is renewed once within the same deadline.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly string? _user;
    private readonly string? _password;
    private readonly Lock _tokenLock = new();
    private string? _token;

    private EtcdConnection(GrpcChannel channel, string? user, string? password, StoreTlsCheck? tls)
    {
        _channel = channel;
        _user = user;
        _password = password;
        Tls = tls;
        Client = new EtcdClient(channel.CreateCallInvoker());
    }

    public EtcdClient Client { get; }

    /// <summary>The TLS check of an `etcds://` URL (its <see cref="StoreTlsCheck.Problem"/> names a refused certificate), else null.</summary>
    public StoreTlsCheck? Tls { get; }

    /// <summary>True when the node sends a user and password (etcd with authentication on).</summary>
    public bool Authenticates => _password is not null;

    public static EtcdConnection Open(StoreUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        StoreAccess access = url.Access;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(Math.Max(1000, url.TimeoutMs)),
            // A member that vanished without closing the connection is noticed within seconds, so the
            // balancer moves calls to the members that answer.
            KeepAlivePingDelay = TimeSpan.FromSeconds(2),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(2),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
        };
        StoreTlsCheck? tls = null;
        if (url.Tls)
        {
            List<string> names = access.ServerName is { } name ? [name] : [.. url.Endpoints.Select(e => e.Host)];
            tls = new StoreTlsCheck(access.CaFile, names);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = names[0],
                RemoteCertificateValidationCallback = tls.Validate,
            };
            if (access.CertFile is not null && access.KeyFile is not null)
            {
                handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(access.CertFile, access.KeyFile)];
            }
        }
        BalancerAddress[] members = [.. url.Endpoints.Select(e => new BalancerAddress(e.Host, e.Port))];
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => members));
        var options = new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            Credentials = url.Tls ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },
            ServiceProvider = services.BuildServiceProvider(),
            MaxRetryAttempts = 0,
        };
        GrpcChannel channel = GrpcChannel.ForAddress("static://etcd", options);
        return new EtcdConnection(channel, access.User ?? url.User, access.Password, tls);
    }

    /// <summary>
    /// Runs one call with the token (authenticating first when there is none yet); a call refused for an
    /// unknown token authenticates again and is repeated once. Exceptions are the caller's to classify.
    /// </summary>
    public T Call<T>(Func<EtcdClient, Metadata?, DateTime, T> call, DateTime deadline)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!Authenticates)
        {
            return call(Client, null, deadline);
        }
        string token = Token(deadline, renew: false);
        try
        {
            return call(Client, Headers(token), deadline);
        }
        catch (RpcException e) when (IsStaleToken(e))
        {
            return call(Client, Headers(Token(deadline, renew: true)), deadline);
        }
    }

    private string Token(DateTime deadline, bool renew)
    {
        lock (_tokenLock)
        {
            if (_token is null || renew)
            {
                try
                {
                    _token = Client.Authenticate(new AuthenticateRequest { Name = _user ?? "", Password = _password ?? "" }, null, deadline).Token;
                }
                catch (RpcException e) when (e.Status.Detail.Contains("authentication is not enabled", StringComparison.Ordinal))
                {
                    _token = ""; // an etcd without authentication: calls go without a token
                }
            }
            return _token;
        }
    }

    private static Metadata? Headers(string token) => token.Length == 0 ? null : new Metadata { { "token", token } };

    /// <summary>etcd's answer to a token it does not (or no longer) know.</summary>
    private static bool IsStaleToken(RpcException e) =>
        e.StatusCode == StatusCode.Unauthenticated || e.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal);

    public void Dispose()
    {
        Client.Dispose();
        _channel.Dispose();
    }
}
