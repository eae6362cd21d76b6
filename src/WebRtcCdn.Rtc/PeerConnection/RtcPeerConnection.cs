using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using WebRtcCdn.Rtc.DataChannels;
using WebRtcCdn.Rtc.Dtls;
using WebRtcCdn.Rtc.Ice;
using WebRtcCdn.Rtc.Net;
using WebRtcCdn.Rtc.Sctp;
using WebRtcCdn.Rtc.Sdp;

namespace WebRtcCdn.Rtc.PeerConnection;

/// <summary>
/// W3C RTCPeerConnection for data channels: ICE (full or lite) over a <see cref="UdpMux"/>, DTLS 1.2, SCTP and DCEP.
/// <para>
/// One driver per connection: every input (datagrams from the socket's receive loop, DTLS hand-shake wake-ups,
/// timer ticks, API calls, queued sends) is a work item in one mailbox, processed by one thread at a time, which alone
/// touches the DTLS, SCTP and data-channel cores. When the driver is idle, a burst from the socket and a timer tick
/// are processed right on the thread that delivered them (the mux's receive thread, the timer's thread): at one
/// datagram per wake-up, as from Chromium, a second thread's wake-up per datagram cost more than the datagram's
/// work. Everything else (and whatever arrives while it runs) goes to the thread pool as one work item. Outbound SCTP packets are sealed by DTLS straight into a reused datagram buffer and sent
/// over ICE's selected pair. The ICE agent is driven by its <see cref="IceUdpTransport"/> (its own lock and timer).
/// Events (state changes, candidates, data channels, messages) are raised on the driver loop: handlers must not block.
/// </para>
/// </summary>
public sealed class RtcPeerConnection : IAsyncDisposable
{
    /// <summary>Datagrams waiting for the driver beyond this are dropped, as a full socket buffer would: 8192 x 1200 B
    /// is about twice the 4 MiB socket buffer, so only a driver that cannot keep up at all loses packets.</summary>
    private const int MaxQueuedDatagrams = 8192;

    /// <summary>SCTP send buffer (bytes queued and unacknowledged); W3C Send throws beyond it. 16 MiB: see SctpOptions.</summary>
    internal const int DefaultSendBufferSize = 16 * 1024 * 1024;

    /// <summary>DTLS datagrams kept while our DTLS endpoint does not exist yet: the answerer's ICE check succeeds and
    /// its ClientHello arrives before the offerer got the answer (signalling is slower than loopback UDP). A ClientHello
    /// is 1-3 datagrams; 8 leaves room for a retransmission. Without this the client waits out its 1 s retransmit.</summary>
    private const int MaxEarlyDatagrams = 8;

    private readonly RtcConfiguration _config;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly ConcurrentQueue<Work> _inbox = new();
    private readonly DriverWorkItem _driverWorkItem;
    private readonly TaskCompletionSource _driverDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<PendingSend> _sends = new();
    private readonly ConcurrentQueue<DataChannelMessage> _releases = new();
    private readonly ITimer _timer;
    private readonly DataChannelLocalParameters _localParameters;
    private readonly List<RtcDataChannel> _pending = [];
    private readonly List<byte[]> _early = [];
    private readonly List<byte[]> _unsent = [];
    private readonly Dictionary<DataChannel, RtcDataChannel> _wrappers = [];
    private readonly HashSet<RtcDataChannel> _active = [];
    private readonly List<RtcDataChannel> _activeScratch = [];
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _connectedTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private UdpMux? _ownedMux;
    private UdpMux? _mux;
    private IceUdpTransport? _transport;
    private Task _iceEvents = Task.CompletedTask;
    private DataChannelDescription? _localDescription;
    private DataChannelDescription? _remoteDescription;
    private DtlsEndpoint? _dtls;
    private SctpAssociation? _sctp;

    /// <summary>The association, for diagnostics only (bench): not synchronised with the driver.</summary>
    internal SctpAssociation? SctpForDiagnostics => _sctp;
    private DtlsRole? _dtlsRole;
    private bool _dtlsStarted;
    private bool _controlling;
    private int _queuedDatagrams;
    private TimeSpan? _armedAt;
    private int _wakePending;
    private int _sendsPending;
    private int _releasesPending;

    /// <summary><see cref="DriverIdle"/>, <see cref="DriverRunning"/> (scheduled or running: exactly one thread processes the
    /// mailbox) or <see cref="DriverClosed"/> (for good: nothing runs the driver again, so what it used may be disposed).</summary>
    private int _driverState;

    /// <summary>Set when the connection closes: the mailbox takes no new work; what is queued still runs, then the driver
    /// that sees it moves to <see cref="DriverClosed"/>.</summary>
    private volatile bool _inboxClosed;
    private long _remoteMaxMessageSize = DataChannelDescription.DefaultRemoteMaxMessageSize;
    private IceConnectionState _iceState = IceConnectionState.New;
    private volatile RtcPeerConnectionState _connectionState = RtcPeerConnectionState.New;
    private volatile RtcIceGatheringState _gatheringState = RtcIceGatheringState.New;
    private volatile RtcSignalingState _signalingState = RtcSignalingState.Stable;
    private bool _closed;

    public RtcPeerConnection(RtcConfiguration? configuration = null)
    {
        _config = configuration ?? new RtcConfiguration();
        _time = _config.TimeProvider;
        _origin = _time.GetTimestamp();
        _localParameters = DataChannelLocalParameters.Create(_config.Certificate) with { IceLite = _config.IceLite };
        _driverWorkItem = new DriverWorkItem(this);
        // A tick runs the driver on the timer's own thread-pool thread when the driver is idle: no second hop.
        _timer = _time.CreateTimer(_ => Enqueue(new Work(WorkKind.Timer), inline: true), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public RtcConfiguration Configuration => _config;

    public RtcPeerConnectionState ConnectionState => _connectionState;

    public IceConnectionState IceConnectionState => _iceState;

    public RtcIceGatheringState IceGatheringState => _gatheringState;

    public RtcSignalingState SignalingState => _signalingState;

    /// <summary>Our description with the candidates gathered so far (W3C localDescription), or null.</summary>
    public RtcSessionDescription? LocalDescription
    {
        get
        {
            var d = _localDescription;
            if (d is null)
            {
                return null;
            }

            var candidates = _transport?.LocalCandidates.Select(c => c.ToString()).ToList() ?? [];
            var withCandidates = d with
            {
                Candidates = candidates,
                EndOfCandidates = _gatheringState == RtcIceGatheringState.Complete,
            };
            return new RtcSessionDescription(_signalingState == RtcSignalingState.HaveLocalOffer || (_signalingState == RtcSignalingState.Stable && IsOfferer) ? RtcSdpType.Offer : RtcSdpType.Answer, withCandidates.ToSdp());
        }
    }

    /// <summary>The local UDP endpoint (the shared mux's or our own socket's), once ICE started.</summary>
    public IPEndPoint? LocalEndPoint => _mux?.LocalEndPoint;

    /// <summary>The selected candidate pair, once ICE found one.</summary>
    public IceCandidatePairInfo? SelectedCandidatePair => _transport?.SelectedPair;

    /// <summary>Our DTLS role (decided by a=setup once both descriptions are set).</summary>
    public DtlsRole? DtlsRole => _dtlsRole;

    /// <summary>A trickled local candidate; null candidate text at the end of gathering (W3C onicecandidate).</summary>
    public event Action<RtcIceCandidate>? OnIceCandidate;

    public event Action<RtcPeerConnectionState>? OnConnectionStateChange;

    public event Action<IceConnectionState>? OnIceConnectionStateChange;

    public event Action<RtcIceGatheringState>? OnIceGatheringStateChange;

    /// <summary>An exception thrown by an event handler on the driver loop (the connection carries on).</summary>
    public event Action<Exception>? OnError;

    /// <summary>The peer opened a channel (W3C ondatachannel).</summary>
    public event Action<RtcDataChannel>? OnDataChannel;

    internal DataChannelManager? Manager { get; private set; }

    internal long RemoteMaxMessageSize => Interlocked.Read(ref _remoteMaxMessageSize);

    internal static int SendBufferSize => DefaultSendBufferSize;

    private bool IsOfferer { get; set; }

    private TimeSpan Now => _time.GetElapsedTime(_origin);

    /// <summary>Completes when the connection state is Connected (ICE and DTLS up); fails when it fails or closes first.</summary>
    public Task WaitConnectedAsync(CancellationToken cancellationToken = default) => _connectedTcs.Task.WaitAsync(cancellationToken);

    /// <summary>W3C createOffer: our data-channel offer (setup actpass). Candidates follow by trickle after SetLocalDescription.</summary>
    public Task<RtcSessionDescription> CreateOfferAsync() => RunAsync(() =>
    {
        ThrowIfClosed();
        SetupTrace.Mark(this, "createOffer");
        IsOfferer = true;
        var offer = DataChannelDescription.CreateOffer(_localParameters);
        offer = WithMaxMessageSize(offer);
        return new RtcSessionDescription(RtcSdpType.Offer, offer.ToSdp());
    });

    /// <summary>W3C createAnswer to the remote offer already set.</summary>
    public Task<RtcSessionDescription> CreateAnswerAsync() => RunAsync(() =>
    {
        ThrowIfClosed();
        if (_signalingState != RtcSignalingState.HaveRemoteOffer || _remoteDescription is null)
        {
            throw new InvalidOperationException("createAnswer needs a remote offer (W3C InvalidStateError)");
        }

        // An ICE-lite server stays DTLS server (passive): the browser then starts DTLS as soon as its check succeeds.
        var answer = _remoteDescription.CreateAnswer(_localParameters, _config.IceLite ? SdpSetup.Passive : SdpSetup.Active);
        return new RtcSessionDescription(RtcSdpType.Answer, WithMaxMessageSize(answer).ToSdp());
    });

    /// <summary>W3C setLocalDescription: starts ICE gathering (and, with the answer, the transports).</summary>
    public Task SetLocalDescriptionAsync(RtcSessionDescription description) => RunAsync(() =>
    {
        ArgumentNullException.ThrowIfNull(description);
        ThrowIfClosed();
        var parsed = DataChannelDescription.Parse(description.Sdp);
        if (parsed.IceUfrag != _localParameters.IceUfrag || parsed.IcePwd != _localParameters.IcePwd)
        {
            throw new ArgumentException("the description was not created by this connection (ICE credentials differ)", nameof(description));
        }

        if (description.Type == RtcSdpType.Offer)
        {
            if (_signalingState != RtcSignalingState.Stable || _remoteDescription is not null)
            {
                throw new InvalidOperationException($"cannot set a local offer in state {_signalingState} (renegotiation is not supported)");
            }

            IsOfferer = true;
            _localDescription = parsed;
            SetSignaling(RtcSignalingState.HaveLocalOffer);
            EnsureIce(controlling: !_config.IceLite);
        }
        else
        {
            if (_signalingState != RtcSignalingState.HaveRemoteOffer)
            {
                throw new InvalidOperationException($"cannot set a local answer in state {_signalingState} (W3C InvalidStateError)");
            }

            _localDescription = parsed;
            SetSignaling(RtcSignalingState.Stable);
            StartTransports();
        }

        return true;
    });

    /// <summary>W3C setRemoteDescription. Bad SDP throws <see cref="SdpException"/> naming the line and the reason.</summary>
    public Task SetRemoteDescriptionAsync(RtcSessionDescription description) => RunAsync(() =>
    {
        ArgumentNullException.ThrowIfNull(description);
        ThrowIfClosed();
        var parsed = DataChannelDescription.Parse(description.Sdp);
        if (parsed.Fingerprints.Count == 0)
        {
            throw new SdpException(0, null, "no a=fingerprint: DTLS cannot authenticate the peer");
        }

        if (description.Type == RtcSdpType.Offer)
        {
            if (_signalingState != RtcSignalingState.Stable || _remoteDescription is not null || _localDescription is not null)
            {
                throw new InvalidOperationException($"cannot set a remote offer in state {_signalingState} (renegotiation is not supported)");
            }

            if (parsed.Setup == SdpSetup.HoldConn)
            {
                throw new SdpException(0, null, "the offer's a=setup is holdconn: it does not want a DTLS association now");
            }

            if (parsed.IceLite && _config.IceLite)
            {
                throw new SdpException(0, null, "both peers are ICE-lite: one side must run full ICE (RFC 8445 sec. 2.5)");
            }

            _remoteDescription = parsed;
            SetSignaling(RtcSignalingState.HaveRemoteOffer);
            // RFC 8445 sec. 6.1.1: a full agent answering a lite offerer takes the controlling role.
            EnsureIce(controlling: parsed.IceLite && !_config.IceLite);
        }
        else
        {
            if (_signalingState != RtcSignalingState.HaveLocalOffer)
            {
                throw new InvalidOperationException($"cannot set a remote answer in state {_signalingState} (W3C InvalidStateError)");
            }

            if (parsed.Setup == SdpSetup.ActPass)
            {
                throw new SdpException(0, null, "an answer must say a=setup:active or a=setup:passive, not actpass (RFC 8842 sec. 5.3)");
            }

            _remoteDescription = parsed;
            SetSignaling(RtcSignalingState.Stable);
            StartTransports();
        }

        if (SetupTrace.Sink is not null)
        {
            SetupTrace.Mark(this, "remote description " + description.Type);
        }

        Interlocked.Exchange(ref _remoteMaxMessageSize, Math.Min(parsed.EffectiveMaxMessageSize, int.MaxValue));
        _transport!.SetRemoteCredentials(parsed.IceUfrag, parsed.IcePwd);
        foreach (var line in parsed.Candidates)
        {
            AddCandidateLine(line);
        }

        if (parsed.EndOfCandidates)
        {
            _transport.AddRemoteEndOfCandidates();
        }

        return true;
    });

    /// <summary>W3C addIceCandidate; a null/empty candidate is end-of-candidates. A malformed candidate throws <see cref="ArgumentException"/>.</summary>
    public Task AddIceCandidateAsync(RtcIceCandidate? candidate) => RunAsync(() =>
    {
        ThrowIfClosed();
        if (_remoteDescription is null)
        {
            throw new InvalidOperationException("addIceCandidate before setRemoteDescription (W3C InvalidStateError)");
        }

        var text = candidate?.Candidate;
        if (string.IsNullOrEmpty(text))
        {
            _transport!.AddRemoteEndOfCandidates();
            return true;
        }

        if (candidate!.SdpMid is { } mid && _remoteDescription.Mid is { } ours && mid != ours)
        {
            throw new ArgumentException($"candidate for mid '{mid}', but the data channel's mid is '{ours}' (W3C OperationError)", nameof(candidate));
        }

        if (!IceCandidate.TryParse(text, out var parsed, out var error))
        {
            throw new ArgumentException($"bad ICE candidate '{text}': {error}", nameof(candidate));
        }

        _transport!.AddRemoteCandidate(parsed);
        return true;
    });

    /// <summary>W3C createDataChannel. Opens once the SCTP association is up (or at once when it already is).</summary>
    public RtcDataChannel CreateDataChannel(string label, RtcDataChannelInit? init = null)
    {
        ArgumentNullException.ThrowIfNull(label);
        init ??= new RtcDataChannelInit();
        if (init.MaxRetransmits.HasValue && init.MaxPacketLifeTime.HasValue)
        {
            throw new ArgumentException("maxRetransmits and maxPacketLifeTime are exclusive (W3C TypeError)", nameof(init));
        }

        if (init.Negotiated && init.Id is null)
        {
            throw new ArgumentException("a negotiated channel needs an id (W3C TypeError)", nameof(init));
        }

        if (System.Text.Encoding.UTF8.GetByteCount(label) > ushort.MaxValue || System.Text.Encoding.UTF8.GetByteCount(init.Protocol) > ushort.MaxValue)
        {
            throw new ArgumentException("label and protocol are limited to 65535 bytes (W3C TypeError)", nameof(label));
        }

        ThrowIfClosed();
        var channel = new RtcDataChannel(this, label, init);
        Post(() =>
        {
            if (Manager is { } manager)
            {
                AttachLocal(manager, channel);
            }
            else
            {
                _pending.Add(channel);
            }
        }, channel.SetClosed);
        return channel;
    }

    /// <summary>W3C close: aborts SCTP, sends DTLS close_notify, stops ICE; every channel closes.</summary>
    public void Close() => Post(CloseOnLoop);

    public async ValueTask DisposeAsync()
    {
        Close();
        _inboxClosed = true;
        if (Interlocked.CompareExchange(ref _driverState, DriverRunning, DriverIdle) == DriverIdle)
        {
            // Idle: whatever slipped in before the close runs here, then the driver closes.
            RunDriver(inline: false);
        }

        // Otherwise a thread runs the driver (perhaps a shared port's receive thread, inline): its round ends with the
        // close. Only then is nothing left that touches DTLS, SCTP or the transport.
        await _driverDone.Task.ConfigureAwait(false);

        if (_transport is { } transport)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
        }

        await _iceEvents.ConfigureAwait(false);
        await _timer.DisposeAsync().ConfigureAwait(false);
        _dtls?.Dispose();
        if (_ownedMux is { } mux)
        {
            await mux.DisposeAsync().ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    // ---------------------------------------------------------------- mailbox

    private enum WorkKind
    {
        Datagram,
        Timer,
        Wake,
        Action,
        Sends,
        Releases,
    }

    /// <summary>A mailbox item; <paramref name="Discarded"/> runs instead of it when the connection closed first.</summary>
    private readonly record struct Work(WorkKind Kind, DatagramBatch? Batch = null, Action? Action = null, Action? Discarded = null);

    private const int DriverIdle = 0;
    private const int DriverRunning = 1;
    private const int DriverClosed = 2;

    /// <summary>A message accepted by <see cref="RtcDataChannel"/>.Send, waiting for the driver: binary in a rented
    /// array (owned by the association once sent) or text.</summary>
    internal readonly record struct PendingSend(RtcDataChannel Channel, byte[]? Rented, string? Text, int Length);

    /// <summary>Runs the driver on the thread pool (one allocation per connection, not per scheduling).</summary>
    private sealed class DriverWorkItem(RtcPeerConnection pc) : IThreadPoolWorkItem
    {
        public void Execute() => pc.RunDriver(inline: false);
    }

    /// <summary>Rounds (drain the mailbox, then the after-batch step) an inline run does before the thread pool takes
    /// over: the delivering thread (a shared port's receive thread) must get back to its own work.</summary>
    private const int MaxInlineRounds = 2;

    /// <summary>Runs <paramref name="action"/> on the driver; <paramref name="discarded"/> instead when the connection closed first.</summary>
    internal void Post(Action action, Action? discarded = null) => Enqueue(new Work(WorkKind.Action, Action: action, Discarded: discarded));

    /// <summary>Returns a message's window bytes (read through ReadAllAsync) from any thread: batched into one work item
    /// however many are read before the driver runs.</summary>
    internal void ReleaseMessage(DataChannelMessage message)
    {
        _releases.Enqueue(message);
        if (Interlocked.Exchange(ref _releasesPending, 1) == 0)
        {
            Enqueue(new Work(WorkKind.Releases));
        }

        if (Volatile.Read(ref _driverState) == DriverClosed)
        {
            // No driver will take it (the close drained the queue before or after this one went in).
            DrainReleasesAfterClose();
        }
    }

    /// <summary>Queues a message from any thread: the driver takes every queued message in one work item (one wake-up
    /// and one flush for a burst of Sends, and no allocation per message). Throws when the connection has closed: the
    /// message's buffer went back to the pool and it no longer counts in the channel's BufferedAmount.</summary>
    internal void QueueSend(in PendingSend send)
    {
        _sends.Enqueue(send);
        if (Interlocked.Exchange(ref _sendsPending, 1) == 0)
        {
            Enqueue(new Work(WorkKind.Sends));
        }

        if (Volatile.Read(ref _driverState) == DriverClosed)
        {
            // The close drains the queue after it set the state: whatever this thread put in before is returned either
            // there or here.
            DrainSendsAfterClose();
            throw new InvalidOperationException("the peer connection is closed (W3C InvalidStateError)");
        }
    }

    /// <summary>Returns the buffers of messages no driver will send and takes them out of their channels' BufferedAmount
    /// (the driver after a close, or any thread once it is <see cref="DriverClosed"/>).</summary>
    private void DrainSendsAfterClose()
    {
        while (_sends.TryDequeue(out var send))
        {
            send.Channel.Dequeued(send.Length);
            if (send.Rented is { } rented)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Returns the buffers of messages read after the close (the association's window no longer matters).</summary>
    private void DrainReleasesAfterClose()
    {
        while (_releases.TryDequeue(out var message))
        {
            message.Inner.ReturnBuffer();
        }
    }

    internal void WakeForChannel(RtcDataChannel channel) => Post(() => _active.Add(channel));

    /// <summary>
    /// Adds work to the mailbox and makes sure a thread processes it: when the driver is idle, this thread
    /// (<paramref name="inline"/>) or the thread pool. Once the connection closed the work is discarded instead
    /// (<see cref="Discard"/>): also when the close came between the check and the enqueue, so nothing is stranded
    /// and no driver round starts after <see cref="DriverClosed"/>.
    /// </summary>
    private void Enqueue(Work work, bool inline = false)
    {
        if (_inboxClosed || Volatile.Read(ref _driverState) == DriverClosed)
        {
            Discard(work);
            return;
        }

        AfterClosedCheckForTests?.Invoke();
        _inbox.Enqueue(work);
        switch (Interlocked.CompareExchange(ref _driverState, DriverRunning, DriverIdle))
        {
            case DriverIdle when inline:
                RunDriver(inline: true);
                break;
            case DriverIdle:
                ThreadPool.UnsafeQueueUserWorkItem(_driverWorkItem, preferLocal: false);
                break;
            case DriverClosed:
                // The driver closed after the check above: the closing thread may have drained the mailbox already.
                DiscardInbox();
                break;
        }
    }

    /// <summary>Tests: runs in <see cref="Enqueue"/> between the closed check and the enqueue, to hold a thread right
    /// where a close can overtake it.</summary>
    internal Action? AfterClosedCheckForTests { get; set; }

    /// <summary>Drops what is left in the mailbox once the driver is <see cref="DriverClosed"/> (any thread).</summary>
    private void DiscardInbox()
    {
        while (_inbox.TryDequeue(out var work))
        {
            Discard(work);
        }
    }

    /// <summary>Work that will never run: its datagrams and buffers go back, a caller waiting for it gets the closed error.</summary>
    private void Discard(in Work work)
    {
        if (work.Batch is { } batch)
        {
            Interlocked.Add(ref _queuedDatagrams, -batch.Count);
            DatagramBatch.Return(batch);
        }

        switch (work.Kind)
        {
            case WorkKind.Sends:
                DrainSendsAfterClose();
                break;
            case WorkKind.Releases:
                DrainReleasesAfterClose();
                break;
        }

        work.Discarded?.Invoke();
    }

    private Task<T> RunAsync<T>(Func<T> func)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = new Work(
            WorkKind.Action,
            Action: () =>
            {
                try
                {
                    tcs.TrySetResult(func());
                }
                catch (Exception e) when (e is SdpException or ArgumentException or InvalidOperationException or FormatException or SocketException)
                {
                    tcs.TrySetException(e);
                }
            },
            Discarded: () => tcs.TrySetException(new InvalidOperationException("the peer connection is closed (W3C InvalidStateError)")));
        Enqueue(work);
        return tcs.Task;
    }

    /// <summary>
    /// The driver (this thread owns it: <see cref="_driverState"/> is <see cref="DriverRunning"/>): rounds of "everything
    /// in the mailbox, then the after-batch step" until the mailbox is empty. An inline run stops after
    /// <see cref="MaxInlineRounds"/> and leaves the rest to the thread pool. The round that finds the mailbox closed is
    /// the last: it runs what was queued before the close, then moves the driver to <see cref="DriverClosed"/>.
    /// </summary>
    private void RunDriver(bool inline)
    {
        for (var round = 1; ; round++)
        {
            while (_inbox.TryDequeue(out var work))
            {
                Guarded(work);
            }

            Guarded(default, afterBatch: true);
            if (_inboxClosed)
            {
                FinishDriver();
                return;
            }

            if (_inbox.IsEmpty)
            {
                // Idle, then look again: an Enqueue that saw the driver busy just before must not be stranded, nor a
                // DisposeAsync that found the driver busy (it set the flag, then failed to take the driver).
                Interlocked.Exchange(ref _driverState, DriverIdle);
                if ((_inbox.IsEmpty && !_inboxClosed) || Interlocked.CompareExchange(ref _driverState, DriverRunning, DriverIdle) != DriverIdle)
                {
                    return; // (a DriverClosed seen here was set by nobody else: only the driver's owner closes it)
                }
            }

            if (inline && round >= MaxInlineRounds)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_driverWorkItem, preferLocal: false);
                return;
            }
        }
    }

    /// <summary>The driver's last act (its owner, after the mailbox closed): what was queued before the close runs, the driver
    /// becomes <see cref="DriverClosed"/>, and what slipped in afterwards is discarded. Nothing runs the driver again.</summary>
    private void FinishDriver()
    {
        while (_inbox.TryDequeue(out var work))
        {
            Guarded(work);
        }

        Interlocked.Exchange(ref _driverState, DriverClosed);
        DiscardInbox();
        DrainSendsAfterClose();
        DrainReleasesAfterClose();
        _driverDone.TrySetResult();
    }

    /// <summary>
    /// Processes one input (or the after-batch step). An exception escaping a user's event handler is reported through
    /// <see cref="OnError"/> instead of ending the driver, which would leave the connection without a pump.
    /// </summary>
#pragma warning disable CA1031 // the driver must survive whatever a user's handler throws
    private void Guarded(Work work, bool afterBatch = false)
    {
        try
        {
            if (afterBatch)
            {
                AfterBatch();
            }
            else
            {
                Process(work);
            }
        }
        catch (Exception e)
        {
            _armedAt = null;
            OnError?.Invoke(e);
        }
    }
#pragma warning restore CA1031

    private void Process(Work work)
    {
        switch (work.Kind)
        {
            case WorkKind.Datagram:
                var batch = work.Batch!;
                try
                {
                    Interlocked.Add(ref _queuedDatagrams, -batch.Count);
                    var now = Now;
                    for (var i = 0; i < batch.Count; i++)
                    {
                        if (SetupTrace.Sink is not null && _dtls?.State != DtlsState.Connected)
                        {
                            SetupTrace.Mark(this, "dtls in " + batch[i].Length + " B, first record type " + batch[i][0]);
                        }

                        if (_dtls is null)
                        {
                            if (_early.Count < MaxEarlyDatagrams && !_closed)
                            {
                                _early.Add(batch[i].ToArray());
                            }

                            continue;
                        }

                        _dtls.HandleDatagram(batch[i], now);
                        PumpDtls(now);
                    }
                }
                finally
                {
                    DatagramBatch.Return(batch);
                }

                break;
            case WorkKind.Wake:
                Volatile.Write(ref _wakePending, 0);
                PumpDtls();
                break;
            case WorkKind.Timer:
                _armedAt = null;
                _dtls?.HandleTimeout(Now);
                PumpDtls();
                break;
            case WorkKind.Action:
                work.Action!();
                break;
            case WorkKind.Sends:
                Interlocked.Exchange(ref _sendsPending, 0);
                try
                {
                    while (_sends.TryDequeue(out var send))
                    {
                        SendQueued(send);
                    }
                }
                finally
                {
                    // Should a send throw, the rest must not wait for the next Send to be noticed.
                    if (!_sends.IsEmpty && Interlocked.Exchange(ref _sendsPending, 1) == 0)
                    {
                        Enqueue(new Work(WorkKind.Sends));
                    }
                }

                break;
            case WorkKind.Releases:
                Interlocked.Exchange(ref _releasesPending, 0);
                if (_closed)
                {
                    DrainReleasesAfterClose();
                    break;
                }

                while (_releases.TryDequeue(out var message))
                {
                    Manager?.Release(message);
                }

                break;
        }
    }

    private void SendQueued(in PendingSend send)
    {
        var channel = send.Channel;
        channel.Dequeued(send.Length);
        if (_closed || channel.Inner is not { } inner || Manager is not { } manager)
        {
            if (send.Rented is { } unsent)
            {
                ArrayPool<byte>.Shared.Return(unsent);
            }

            return;
        }

        if (send.Text is { } text)
        {
            manager.Send(inner, text);
        }
        else
        {
            manager.SendRented(inner, send.Rented!, send.Length);
        }

        _active.Add(channel);
    }

    /// <summary>After a batch of inputs: let SCTP act on time, deliver events, send its packets, refresh channels, re-arm the timer.</summary>
    private void AfterBatch()
    {
        if (_closed)
        {
            return;
        }

        var now = Now;
        if (_sctp is { } sctp)
        {
            sctp.HandleTimeout(now);
            PumpChannels();
            FlushSctp();
            PumpChannels();
        }

        if (_active.Count > 0)
        {
            _activeScratch.Clear();
            _activeScratch.AddRange(_active);
            foreach (var channel in _activeScratch)
            {
                if (!channel.UpdateBuffered())
                {
                    _active.Remove(channel);
                }
            }
        }

        TimeSpan? next = _dtls?.PollTimeout();
        if (_sctp?.PollTimeout() is { } s && (next is null || s < next))
        {
            next = s;
        }

        // Re-arm only to fire earlier. Every SACK moves SCTP's retransmission and probe deadlines later and the delayed
        // ack comes and goes with every other packet: re-arming for each (a timer-queue lock, and a wake-up of the
        // timer thread when it moves earlier) cost more than the tick that an early firing wastes (the cores check
        // their deadlines; the tick re-arms for the real one). A deadline that went away is left to fire the same way.
        if (next is not { } at || (_armedAt is { } armed && armed <= at))
        {
            return;
        }

        _armedAt = at;
        var due = at - Now;
        _timer.Change(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private void PumpDtls() => PumpDtls(Now);

    private void PumpDtls(TimeSpan now)
    {
        if (_dtls is not { } dtls)
        {
            return;
        }

        while (dtls.PollTransmit() is { } d)
        {
            if (SetupTrace.Sink is not null && dtls.State != DtlsState.Connected)
            {
                SetupTrace.Mark(this, "dtls out " + d.Length + " B, first record type " + d.Span[0]);
            }

            if (_transport?.Send(d.Span) != true && _unsent.Count < MaxEarlyDatagrams)
            {
                // Our answer to an early ClientHello, before our own checks found a pair (the offerer learns the
                // answer after the answerer's checks succeeded): sent as soon as ICE selects a pair.
                _unsent.Add(d.ToArray());
            }
        }

        while (dtls.PollEvent() is { } e)
        {
            switch (e.Kind)
            {
                case DtlsEventKind.Connected:
                    OnDtlsConnected();
                    break;
                case DtlsEventKind.ApplicationData:
                    if (SetupTrace.Sink is not null && e.Data.Length > 12)
                    {
                        SetupTrace.Mark(this, "sctp in chunk " + e.Data.Span[12]);
                    }

                    _sctp?.HandleInboundPacket(e.Data.Span, now);
                    break;
                case DtlsEventKind.Closed:
                    _sctp?.Abort("DTLS closed");
                    PumpChannels();
                    if (!_closed)
                    {
                        SetConnectionState(RtcPeerConnectionState.Closed);
                    }

                    break;
                case DtlsEventKind.Failed:
                    _sctp?.Abort("DTLS failed: " + e.Reason);
                    PumpChannels();
                    SetConnectionState(RtcPeerConnectionState.Failed);
                    _connectedTcs.TrySetException(new InvalidOperationException("DTLS failed: " + e.Reason));
                    break;
            }
        }
    }

    /// <summary>
    /// Sends what SCTP has: each packet is written straight into its place in a pooled datagram batch, sealed there by
    /// DTLS (the payload's only copy after the send queue), and the batch leaves in as few system calls as the socket
    /// allows (<see cref="IceUdpTransport.SendBatch"/>).
    /// </summary>
    private void FlushSctp()
    {
        if (_sctp is not { } sctp || _dtls is not { State: DtlsState.Connected } dtls || _transport is not { } transport)
        {
            return;
        }

        var mtu = dtls.MaxApplicationDataSize;
        var datagramSize = mtu + DtlsEndpoint.RecordOverhead;
        var batch = DatagramBatch.Rent();
        try
        {
            while (true)
            {
                if (!batch.HasRoom(datagramSize))
                {
                    transport.SendBatch(batch);
                    batch.Clear();
                }

                var free = batch.Free;
                var n = sctp.PollOutboundPacket(free.Slice(DtlsEndpoint.ApplicationDataOffset, mtu));
                if (n <= 0)
                {
                    break;
                }

                if (SetupTrace.Sink is not null && n > 12)
                {
                    SetupTrace.Mark(this, "sctp out chunk " + free[DtlsEndpoint.ApplicationDataOffset + 12]);
                }

                var length = dtls.ProtectApplicationDataInPlace(free, n);
                if (length > 0)
                {
                    batch.Commit(length);
                }
            }

            if (batch.Count > 0)
            {
                transport.SendBatch(batch);
            }
        }
        finally
        {
            DatagramBatch.Return(batch);
        }
    }

    private void PumpChannels()
    {
        if (Manager is not { } manager)
        {
            return;
        }

        while (manager.PollEvent() is { } e)
        {
            RtcDataChannel? wrapper = null;
            if (e.Channel is { } inner)
            {
                _wrappers.TryGetValue(inner, out wrapper);
            }

            switch (e.Kind)
            {
                case DataChannelEventKind.Open:
                    if (wrapper is null && e.Remote)
                    {
                        wrapper = new RtcDataChannel(this, e.Channel!.Label, new RtcDataChannelInit
                        {
                            Ordered = e.Channel.Ordered,
                            MaxRetransmits = e.Channel.MaxRetransmits,
                            MaxPacketLifeTime = e.Channel.MaxPacketLifeTime,
                            Protocol = e.Channel.Protocol,
                        });
                        wrapper.Attach(e.Channel);
                        _wrappers[e.Channel] = wrapper;
                        OnDataChannel?.Invoke(wrapper);
                    }

                    if (SetupTrace.Sink is not null)
                    {
                        SetupTrace.Mark(this, "channel open" + (e.Remote ? " (remote)" : string.Empty));
                    }

                    wrapper?.SetOpen();
                    break;
                case DataChannelEventKind.Message:
                    var consumed = true;
                    try
                    {
                        consumed = wrapper is null || wrapper.Deliver(e.Message!);
                    }
                    finally
                    {
                        // Also when the user's handler threw: its window bytes must come back.
                        if (consumed)
                        {
                            manager.Release(e.Message!);
                        }
                    }

                    break;
                case DataChannelEventKind.BufferedAmountLow:
                    if (wrapper is not null)
                    {
                        _active.Add(wrapper);
                    }

                    break;
                case DataChannelEventKind.Closing:
                    wrapper?.SetClosing();
                    break;
                case DataChannelEventKind.Closed:
                    if (wrapper is not null)
                    {
                        _wrappers.Remove(e.Channel!);
                        wrapper.SetClosed();
                    }

                    break;
                case DataChannelEventKind.AssociationClosed:
                    foreach (var w in _wrappers.Values.ToList())
                    {
                        w.SetClosed();
                    }

                    _wrappers.Clear();
                    break;
            }
        }
    }

    // ---------------------------------------------------------------- transports

    private void EnsureIce(bool controlling)
    {
        if (_transport is not null)
        {
            return;
        }

        _controlling = controlling;
        _mux = _config.UdpMux ?? (_ownedMux = BindOwnSocket());
        var agent = new IceAgent(new IceAgentOptions
        {
            Lite = _config.IceLite,
            Controlling = controlling,
            LocalUfrag = _localParameters.IceUfrag,
            LocalPassword = _localParameters.IcePwd,
            Servers = _config.IceServers,
            Ta = _config.IceCheckInterval,
        });
        _transport = new IceUdpTransport(agent, _mux, _time)
        {
            MdnsResolver = _config.ResolveMdnsCandidates ? new MdnsResolver() : null,
            BatchReceived = OnIceBatch,
        };
        var transport = _transport;
        _iceEvents = Task.Run(async () =>
        {
            await foreach (var e in transport.Events.ReadAllAsync().ConfigureAwait(false))
            {
                Post(() => HandleIceEvent(e));
            }
        });
        SetGathering(RtcIceGatheringState.Gathering);
        _transport.Start(_config.HostAddresses);
        SetupTrace.Mark(this, "ice started");
    }

    private UdpMux BindOwnSocket()
    {
        if (_config.PortRange is not { } range)
        {
            return UdpMux.Bind(new IPEndPoint(_config.BindAddress, 0));
        }

        if (range.Min < 1 || range.Max > 65535 || range.Min > range.Max)
        {
            throw new ArgumentException($"bad port range {range.Min}-{range.Max}", nameof(RtcConfiguration.PortRange));
        }

        for (var port = range.Min; port <= range.Max; port++)
        {
            try
            {
                return UdpMux.Bind(new IPEndPoint(_config.BindAddress, port));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
            }
        }

        throw new InvalidOperationException($"no free UDP port in {range.Min}-{range.Max}");
    }

    private void OnIceBatch(DatagramBatch batch)
    {
        // On the socket's receive loop: hand off only (one work item per burst).
        var count = batch.Count;
        if (Interlocked.Add(ref _queuedDatagrams, count) > MaxQueuedDatagrams)
        {
            Interlocked.Add(ref _queuedDatagrams, -count);
            DatagramBatch.Return(batch);
            return;
        }

        // The receive thread runs the driver itself when it is idle (see the class remarks).
        Enqueue(new Work(WorkKind.Datagram, batch), inline: true);
    }

    private void WakeUp()
    {
        // On BouncyCastle's handshake thread: only signal the driver (coalesced).
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            Enqueue(new Work(WorkKind.Wake));
        }
    }

    private void HandleIceEvent(IceEvent e)
    {
        if (_closed)
        {
            return;
        }

        switch (e)
        {
            case IceLocalCandidateEvent c:
                OnIceCandidate?.Invoke(new RtcIceCandidate(c.Candidate.ToString(), _localDescription?.Mid ?? "0", 0));
                break;
            case IceGatheringCompleteEvent:
                SetGathering(RtcIceGatheringState.Complete);
                OnIceCandidate?.Invoke(new RtcIceCandidate(null, _localDescription?.Mid ?? "0", 0));
                break;
            case IceSelectedPairChangedEvent:
                SetupTrace.Mark(this, "ice selected pair");
                FlushUnsent();
                StartDtlsIfReady();
                break;
            case IceStateChangedEvent s:
                _iceState = s.State;
                if (SetupTrace.Sink is not null)
                {
                    SetupTrace.Mark(this, "ice " + s.State);
                }

                OnIceConnectionStateChange?.Invoke(s.State);
                if (s.State == IceConnectionState.Connected)
                {
                    FlushUnsent();
                    StartDtlsIfReady();
                }

                UpdateConnectionState();
                break;
        }
    }

    /// <summary>Both descriptions are known: the DTLS role is decided and the server side may start at once.</summary>
    private void StartTransports()
    {
        var local = _localDescription!;
        var remote = _remoteDescription!;
        _dtlsRole = SdpSetupExtensions.ResolveLocalRole(local.Setup, remote.Setup);
        _dtls = new DtlsEndpoint(new DtlsEndpointOptions
        {
            Role = _dtlsRole.Value,
            RemoteFingerprints = remote.Fingerprints,
            Certificate = _config.Certificate,
            WakeUp = WakeUp,
        });
        _sctp = new SctpAssociation(new SctpOptions
        {
            LocalPort = (ushort)local.SctpPort,
            RemotePort = (ushort)remote.SctpPort,
            // SCTP packet + 37 bytes of DTLS record = a 1200-byte datagram (RFC 8261 sec. 5).
            Mtu = _dtls.MaxApplicationDataSize,
            ReceiveBufferSize = _config.SctpReceiveBufferSize,
            SendBufferSize = DefaultSendBufferSize,
            MaxReceiveMessageSize = _config.MaxMessageSize,
            MaxSendMessageSize = (int)Math.Min(remote.EffectiveMaxMessageSize, int.MaxValue),
        });
        foreach (var early in _early)
        {
            _dtls.HandleDatagram(early, Now);
        }

        _early.Clear();
        Manager = new DataChannelManager(_sctp, _dtlsRole == Dtls.DtlsRole.Client);
        foreach (var channel in _pending)
        {
            AttachLocal(Manager, channel);
        }

        _pending.Clear();
        SetConnectionState(RtcPeerConnectionState.Connecting);
        if (_dtlsRole == Dtls.DtlsRole.Server)
        {
            // A server only waits; datagrams that arrive early are kept by the endpoint.
            _dtlsStarted = true;
            _dtls.Start(Now);
        }
        else
        {
            // The client's handshake thread is made now, while ICE checks: starting it is then only a wake-up.
            _dtls.Prepare();
            StartDtlsIfReady();
        }
    }

    private void StartDtlsIfReady()
    {
        if (_dtls is null || _dtlsStarted || _transport?.SelectedPair is null)
        {
            return;
        }

        _dtlsStarted = true;
        SetupTrace.Mark(this, "dtls client start");
        _dtls.Start(Now);
        PumpDtls();
    }

    private void FlushUnsent()
    {
        if (_transport is { SelectedPair: not null } transport)
        {
            foreach (var datagram in _unsent)
            {
                transport.Send(datagram);
            }

            _unsent.Clear();
        }
    }

    private void OnDtlsConnected()
    {
        // Chrome sends INIT whatever its DTLS role; both sides connect and the association handles the collision.
        SetupTrace.Mark(this, "dtls connected");
        _sctp!.Connect(Now);
        UpdateConnectionState();
    }

    private void AttachLocal(DataChannelManager manager, RtcDataChannel channel)
    {
        if (channel.ReadyState == RtcDataChannelState.Closing)
        {
            channel.SetClosed();
            return;
        }

        DataChannel inner;
        try
        {
            inner = manager.CreateDataChannel(channel.Label, new DataChannelInit
            {
                Ordered = channel.Init.Ordered,
                MaxRetransmits = channel.Init.MaxRetransmits,
                MaxPacketLifeTime = channel.Init.MaxPacketLifeTime,
                Protocol = channel.Init.Protocol,
                Negotiated = channel.Init.Negotiated,
                Id = channel.Init.Id,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            channel.SetClosed();
            return;
        }

        channel.Attach(inner);
        _wrappers[inner] = channel;
        if (inner.State == DataChannelState.Open)
        {
            channel.SetOpen();
        }
    }

    private void UpdateConnectionState()
    {
        if (_closed)
        {
            return;
        }

        var dtls = _dtls?.State;
        RtcPeerConnectionState state;
        if (_iceState == IceConnectionState.Failed || dtls == DtlsState.Failed)
        {
            state = RtcPeerConnectionState.Failed;
        }
        else if (_iceState == IceConnectionState.Disconnected)
        {
            state = RtcPeerConnectionState.Disconnected;
        }
        else if (_iceState == IceConnectionState.Connected && dtls == DtlsState.Connected)
        {
            state = RtcPeerConnectionState.Connected;
        }
        else if (dtls == DtlsState.Closed)
        {
            state = RtcPeerConnectionState.Closed;
        }
        else if (_iceState is IceConnectionState.New && dtls is null or DtlsState.New)
        {
            state = _connectionState == RtcPeerConnectionState.New ? RtcPeerConnectionState.New : RtcPeerConnectionState.Connecting;
        }
        else
        {
            state = RtcPeerConnectionState.Connecting;
        }

        SetConnectionState(state);
    }

    private void SetConnectionState(RtcPeerConnectionState state)
    {
        if (_connectionState == state)
        {
            return;
        }

        _connectionState = state;
        switch (state)
        {
            case RtcPeerConnectionState.Connected:
                SetupTrace.Mark(this, "connected");
                _connectedTcs.TrySetResult();
                break;
            case RtcPeerConnectionState.Failed or RtcPeerConnectionState.Closed:
                _connectedTcs.TrySetException(new InvalidOperationException($"the connection is {state.ToString().ToLowerInvariant()}"));
                break;
        }

        OnConnectionStateChange?.Invoke(state);
    }

    private void SetGathering(RtcIceGatheringState state)
    {
        if (_gatheringState != state)
        {
            _gatheringState = state;
            OnIceGatheringStateChange?.Invoke(state);
        }
    }

    private void SetSignaling(RtcSignalingState state) => _signalingState = state;

    private void CloseOnLoop()
    {
        if (_closed)
        {
            return;
        }

        // Messages still waiting for the driver are dropped with the association (W3C: closing discards what is queued):
        // their buffers go back before the channels' close events, which then see BufferedAmount 0.
        DrainSendsAfterClose();

        // W3C close: the SCTP association is aborted (Chrome does the same), then DTLS close_notify.
        if (_sctp is { } sctp)
        {
            sctp.Abort("peer connection closed");
            FlushSctp();
            PumpChannels();
        }

        foreach (var channel in _pending)
        {
            channel.SetClosed();
        }

        _pending.Clear();
        if (_dtls is { } dtls)
        {
            dtls.Close();
            while (dtls.PollTransmit() is { } d)
            {
                _transport?.Send(d.Span);
            }
        }

        SetConnectionState(RtcPeerConnectionState.Closed);
        _iceState = IceConnectionState.Closed;
        _signalingState = RtcSignalingState.Closed;
        _closed = true;
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _inboxClosed = true;
    }

    private void ThrowIfClosed()
    {
        if (_closed)
        {
            throw new InvalidOperationException("the peer connection is closed (W3C InvalidStateError)");
        }
    }

    private void AddCandidateLine(string line)
    {
        if (IceCandidate.TryParse(line, out var candidate, out _))
        {
            _transport!.AddRemoteCandidate(candidate);
        }
    }

    private DataChannelDescription WithMaxMessageSize(DataChannelDescription d) => d with { MaxMessageSize = _config.MaxMessageSize };
}
