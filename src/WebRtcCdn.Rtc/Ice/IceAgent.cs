using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using WebRtcCdn.Rtc.Stun;
using WebRtcCdn.Rtc.Turn;

namespace WebRtcCdn.Rtc.Ice;

/// <summary>
/// A sans-IO ICE agent (RFC 8445) for one data stream with one component, full or lite.
/// Inputs: <see cref="HandleDatagram"/>, <see cref="HandleTimeout"/> and commands, each with the current time.
/// Outputs: <see cref="PollTransmit"/>, <see cref="PollEvent"/>, <see cref="PollTimeout"/>. Not thread-safe:
/// the driver serialises calls (one writer per connection).
/// </summary>
/// <remarks>
/// Full mode: host, server-reflexive and relayed candidates; pairs, Ta pacing, triggered checks, role conflict
/// (487 with tie-breaker), regular nomination, trickle (remote candidates may arrive any time; failure is only
/// declared after remote end-of-candidates or the checking timeout), consent freshness (RFC 7675).
/// Lite mode: answers every valid check, learns peer-reflexive candidates, follows the latest nomination;
/// liveness comes from the peer's checks (a lite agent sends none).
/// Every valid Binding request is answered, with or without USE-CANDIDATE (Firefox's consent checks have none).
/// </remarks>
public sealed class IceAgent
{
    private const string IceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// <summary>Gathering transactions (STUN server Binding) use the RFC 8489 schedule with fewer tries: gathering must not hold trickle up.</summary>
    private const int MaxGatherTransmissions = 4;

    /// <summary>
    /// Consent requests are retransmitted (500, 1000, 2000 ms) so that one lost datagram does not count as a missed
    /// check; the last retry still ends before the next check is due (5 s +/- 20 %).
    /// </summary>
    private const int ConsentTransmissions = 4;

    private readonly IceAgentOptions _options;
    private readonly Random _random;
    private readonly byte[] _localKey;
    private readonly List<IceLocalCandidate> _locals = [];
    private readonly List<IceRemoteCandidate> _remotes = [];
    private readonly List<IceCandidatePair> _pairs = [];
    private readonly List<IceTurnAllocation> _turns = [];
    private readonly LinkedList<(IceCandidatePair Pair, bool UseCandidate)> _triggered = new();
    private readonly Dictionary<StunTransactionId, Transaction> _transactions = [];
    private readonly Dictionary<string, string> _foundations = new(StringComparer.Ordinal);
    private readonly Queue<IceTransmit> _transmits = new();
    private readonly Queue<IceEvent> _events = new();
    private string? _remoteUfrag;
    private byte[]? _remoteKey;
    private bool _remoteEndOfCandidates;
    private bool _gatheringStarted;
    private bool _gatheringComplete;
    private int _pendingGathers;
    private TimeSpan _nextCheckAt;
    private TimeSpan? _checkingSince;
    private TimeSpan? _firstValidAt;
    private TimeSpan _nextConsentAt = TimeSpan.MaxValue;
    private IceCandidatePair? _selected;
    private IceCandidatePair? _nominating;
    private IceCandidatePair? _reported;
    private int _hostCount;

    public IceAgent(IceAgentOptions? options = null)
    {
        _options = options ?? new IceAgentOptions();
        _random = _options.Random ?? new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        IsLite = _options.Lite;
        IsControlling = _options.Controlling && !_options.Lite;
        LocalUfrag = _options.LocalUfrag ?? RandomIceString(8);
        LocalPassword = _options.LocalPassword ?? RandomIceString(24);
        if (LocalUfrag.Length < 4 || LocalPassword.Length < 22 || LocalUfrag.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("ice-ufrag needs >= 4 and ice-pwd >= 22 ice-chars (RFC 8839 sec. 5.4)");
        }

        _localKey = StunCredentials.ShortTermKey(LocalPassword);
        Span<byte> tb = stackalloc byte[8];
        _random.NextBytes(tb);
        TieBreaker = BitConverter.ToUInt64(tb);
    }

    public string LocalUfrag { get; }

    public string LocalPassword { get; }

    public bool IsLite { get; }

    public bool IsControlling { get; private set; }

    public ulong TieBreaker { get; }

    public IceConnectionState State { get; private set; } = IceConnectionState.New;

    public bool GatheringComplete => _gatheringComplete;

    public IReadOnlyList<IceCandidate> LocalCandidates => [.. _locals.Select(l => l.Candidate)];

    /// <summary>The pair application data uses: the selected (nominated) pair, else the best valid pair.</summary>
    public IceCandidatePairInfo? SelectedPair => SendPair()?.Info;

    /// <summary>Where application data goes straight from our socket (the send pair's remote when it is not relayed),
    /// so a driver may send bulk data without a call per datagram; null when there is none or it goes through TURN.</summary>
    public IPEndPoint? DirectSendRemote =>
        State is IceConnectionState.Failed or IceConnectionState.Closed || SendPair() is not { Local.Relay: null } pair ? null : pair.Remote.EndPoint;

    /// <summary>True while a TURN allocation exists or is being made: datagrams may then need ICE's demultiplexing.</summary>
    public bool HasTurn => _turns.Count > 0;

    /// <summary>
    /// Adds a host candidate for a socket bound to <paramref name="localBase"/> (a concrete address, not Any).
    /// Earlier hosts get a higher local preference.
    /// </summary>
    public IceCandidate AddHostCandidate(IPEndPoint localBase, TimeSpan now)
    {
        var existing = _locals.FirstOrDefault(l => l.Candidate.Type == IceCandidateType.Host && l.Base.Equals(localBase));
        if (existing is not null)
        {
            return existing.Candidate;
        }

        // RFC 8445 sec. 5.1.2.1: local preference distinguishes the host's addresses; 65535 downwards.
        var localPreference = 65535 - _hostCount++;
        var local = AddLocal(IceCandidateType.Host, localBase, localBase, null, localPreference, "host", null);
        if (_gatheringStarted)
        {
            GatherFrom(local, now);
        }

        Pump(now);
        return local.Candidate;
    }

    /// <summary>Starts server-reflexive and relayed gathering from the host candidates (full agents with servers).</summary>
    public void StartGathering(TimeSpan now)
    {
        if (_gatheringStarted)
        {
            return;
        }

        _gatheringStarted = true;
        foreach (var host in _locals.Where(l => l.Candidate.Type == IceCandidateType.Host).ToList())
        {
            GatherFrom(host, now);
        }

        CheckGatheringComplete();
        Pump(now);
    }

    public void SetRemoteCredentials(string ufrag, string password, TimeSpan now)
    {
        _remoteUfrag = ufrag;
        _remoteKey = StunCredentials.ShortTermKey(password);
        StartChecking(now);
        Pump(now);
    }

    /// <summary>
    /// Adds a remote candidate (SDP or trickle). Returns false when it is ignored: not UDP, not component 1, an
    /// unresolvable mDNS name, a duplicate, or beyond the candidate bound.
    /// </summary>
    public bool AddRemoteCandidate(IceCandidate candidate, TimeSpan now)
    {
        if (State is IceConnectionState.Closed or IceConnectionState.Failed ||
            !candidate.Transport.Equals("udp", StringComparison.OrdinalIgnoreCase) || candidate.Component != 1)
        {
            return false;
        }

        var endPoint = candidate.EndPoint;
        if (endPoint is null && candidate.IsMdns && _options.MdnsResolver?.Invoke(candidate.Address) is { } resolved)
        {
            endPoint = new IPEndPoint(resolved, candidate.Port);
        }

        if (endPoint is null || endPoint.Port == 0)
        {
            return false;
        }

        var known = FindRemote(endPoint);
        if (known is not null)
        {
            // A signalled candidate matching a learned peer-reflexive one replaces its type and priority (RFC 8445 sec. 7.3.1.3).
            if (known.Candidate.Type == IceCandidateType.PeerReflexive && candidate.Type != IceCandidateType.PeerReflexive)
            {
                known.Candidate = candidate;
            }

            return false;
        }

        if (_remotes.Count >= _options.MaxRemoteCandidates)
        {
            return false;
        }

        var remote = new IceRemoteCandidate(candidate, endPoint);
        _remotes.Add(remote);
        if (!IsLite)
        {
            foreach (var local in _locals)
            {
                AddPair(local, remote);
            }
        }

        StartChecking(now);
        Pump(now);
        return true;
    }

    /// <summary>The peer signalled end-of-candidates (or sent a complete non-trickle description).</summary>
    public void AddRemoteEndOfCandidates(TimeSpan now)
    {
        _remoteEndOfCandidates = true;
        EvaluateFailure(now);
        Pump(now);
    }

    /// <summary>
    /// Sends application data (e.g. DTLS) over the selected pair (or the best valid one before nomination),
    /// through the TURN relay when the local candidate is relayed. Returns false when no pair is usable.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> payload, TimeSpan now)
    {
        if (State is IceConnectionState.Failed or IceConnectionState.Closed || SendPair() is not { } pair)
        {
            return false;
        }

        var ok = Transmit(pair.Local, pair.Remote.EndPoint, payload, now);
        Pump(now);
        return ok;
    }

    /// <summary>Stops everything; TURN allocations are released.</summary>
    public void Close(TimeSpan now)
    {
        if (State == IceConnectionState.Closed)
        {
            return;
        }

        foreach (var turn in _turns)
        {
            turn.Client.Close(now);
        }

        Pump(now);
        _transactions.Clear();
        _triggered.Clear();
        SetState(IceConnectionState.Closed);
    }

    /// <summary>
    /// Takes a datagram received on the socket bound to <paramref name="local"/> from <paramref name="remote"/>.
    /// Returns true when ICE consumed it (STUN, or anything from one of our TURN servers, whose application data
    /// comes out as <see cref="IceDataReceivedEvent"/>); false when it is not ICE's (route it to DTLS yourself).
    /// Malformed or unauthenticated STUN is dropped (returns true).
    /// </summary>
    public bool HandleDatagram(ReadOnlySpan<byte> data, IPEndPoint local, IPEndPoint remote, TimeSpan now)
    {
        if (State == IceConnectionState.Closed)
        {
            return StunMessage.IsStun(data);
        }

        // One server often offers STUN and TURN on the same port (coturn does): our own Binding transactions'
        // answers are ours, everything else from a TURN server is its client's.
        var ownTransaction = StunMessage.IsStun(data) && _transactions.ContainsKey(StunTransactionId.Read(data[8..]));
        foreach (var turn in _turns)
        {
            if (!ownTransaction && turn.Client.Server.Equals(remote) && SameSocket(turn.Base, local))
            {
                turn.Client.HandleDatagram(data, now);
                Pump(now);
                return true;
            }
        }

        if (!StunMessage.IsStun(data))
        {
            return false;
        }

        if (StunMessage.TryParse(data, out var message))
        {
            var host = FindHost(local);
            if (host is not null)
            {
                HandleStun(message, host, remote, now);
            }
        }

        Pump(now);
        return true;
    }

    public void HandleTimeout(TimeSpan now)
    {
        if (State == IceConnectionState.Closed)
        {
            return;
        }

        foreach (var turn in _turns)
        {
            turn.Client.HandleTimeout(now);
        }

        Retransmit(now);
        if (!IsLite && State is not IceConnectionState.Failed)
        {
            SendPacedCheck(now);
            MaybeNominate(now);
            SendConsent(now);
        }

        EvaluateConsent(now);
        EvaluateFailure(now);
        Pump(now);
    }

    public IceTransmit? PollTransmit() => _transmits.TryDequeue(out var t) ? t : null;

    public IceEvent? PollEvent() => _events.TryDequeue(out var e) ? e : null;

    /// <summary>When <see cref="HandleTimeout"/> must next be called; null when nothing is scheduled.</summary>
    public TimeSpan? PollTimeout()
    {
        if (State is IceConnectionState.Closed)
        {
            return null;
        }

        var next = TimeSpan.MaxValue;
        foreach (var tx in _transactions.Values)
        {
            next = Min(next, tx.NextAt);
        }

        foreach (var turn in _turns)
        {
            if (turn.Client.PollTimeout() is { } t)
            {
                next = Min(next, t);
            }
        }

        if (State != IceConnectionState.Failed)
        {
            if (!IsLite && HasCheckWork())
            {
                next = Min(next, _nextCheckAt);
            }

            if (!IsLite && IsControlling && _selected is null && _nominating is null && _firstValidAt is { } fv)
            {
                next = Min(next, fv + _options.NominationDelay);
            }

            if (!IsLite && _selected is not null)
            {
                next = Min(next, _nextConsentAt);
            }

            if (ConsentPair() is { } cp && State is IceConnectionState.Connected or IceConnectionState.Disconnected)
            {
                next = Min(next, cp.LastConsent + (State == IceConnectionState.Connected ? _options.DisconnectedTimeout : _options.ConsentTimeout));
            }

            if (!IsLite && State == IceConnectionState.Checking && _checkingSince is { } since)
            {
                next = Min(next, since + _options.CheckingTimeout);
            }
        }

        return next == TimeSpan.MaxValue ? null : next;
    }

    private void HandleStun(StunMessage message, IceLocalCandidate local, IPEndPoint remote, TimeSpan now)
    {
        if (message.Method != StunMethod.Binding)
        {
            return;
        }

        switch (message.Class)
        {
            case StunClass.Request:
                HandleRequest(message, local, remote, now);
                break;
            case StunClass.SuccessResponse:
            case StunClass.ErrorResponse:
                HandleResponse(message, local, remote, now);
                break;
            default:
                // Binding indications are keepalives (RFC 8445 sec. 11): nothing to do.
                break;
        }
    }

    private void HandleRequest(StunMessage request, IceLocalCandidate local, IPEndPoint remote, TimeSpan now)
    {
        if (State == IceConnectionState.Failed)
        {
            return;
        }

        // RFC 8445 sec. 7.3 / RFC 8489 sec. 9.1.3: USERNAME "ourUfrag:theirUfrag" and MESSAGE-INTEGRITY with our
        // password. Anything else is not our peer: dropped without an answer (no reflection towards a spoofed source).
        var username = request.GetString(StunAttributeType.Username);
        if (username is null || !username.StartsWith(LocalUfrag + ":", StringComparison.Ordinal) || !request.VerifyIntegrity(_localKey))
        {
            return;
        }

        if (_remoteUfrag is not null && username.Length > LocalUfrag.Length + 1 && !username.AsSpan(LocalUfrag.Length + 1).SequenceEqual(_remoteUfrag))
        {
            return;
        }

        var controllingAttr = request.GetUInt64(StunAttributeType.IceControlling);
        var controlledAttr = request.GetUInt64(StunAttributeType.IceControlled);
        if (!IsLite)
        {
            // RFC 8445 sec. 7.3.1.1 role conflict.
            if (IsControlling && controllingAttr is { } theirs)
            {
                if (TieBreaker >= theirs)
                {
                    SendError(request, local, remote, StunErrorCode.RoleConflict, "Role Conflict", now);
                    return;
                }

                SwitchRole(false);
            }
            else if (!IsControlling && controlledAttr is { } theirs2)
            {
                if (TieBreaker >= theirs2)
                {
                    SwitchRole(true);
                }
                else
                {
                    SendError(request, local, remote, StunErrorCode.RoleConflict, "Role Conflict", now);
                    return;
                }
            }
        }

        var response = new StunMessage(StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId)
            .AddXorAddress(StunAttributeType.XorMappedAddress, remote);
        AddSoftware(response);
        Transmit(local, remote, response.Encode(_localKey, fingerprint: true), now);

        var remoteCandidate = FindRemote(remote);
        if (remoteCandidate is null)
        {
            if (_remotes.Count >= _options.MaxRemoteCandidates)
            {
                return;
            }

            // A peer-reflexive candidate (RFC 8445 sec. 7.3.1.3): how we find browsers that hide behind mDNS names.
            var priority = request.GetUInt32(StunAttributeType.Priority) ??
                IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535);
            remoteCandidate = new IceRemoteCandidate(new IceCandidate
            {
                Foundation = RandomIceString(8).Replace('+', 'x').Replace('/', 'y'),
                Priority = priority,
                Address = remote.Address.ToString(),
                Port = remote.Port,
                Type = IceCandidateType.PeerReflexive,
            }, remote);
            _remotes.Add(remoteCandidate);
        }

        var pair = FindPair(local, remoteCandidate) ?? AddPair(local, remoteCandidate);
        if (pair is null)
        {
            return;
        }

        var useCandidate = request.Has(StunAttributeType.UseCandidate);
        if (IsLite)
        {
            pair.Valid = true;
            pair.State = IcePairState.Succeeded;
            pair.LastConsent = now;
            if (useCandidate)
            {
                // Follow the latest nomination (pion/ice#739): Chrome may nominate several pairs over time.
                pair.Nominated = true;
                Select(pair);
            }
            else if (_selected is null)
            {
                Select(pair);
            }

            return;
        }

        StartChecking(now);
        if (useCandidate && !IsControlling)
        {
            if (pair.State == IcePairState.Succeeded)
            {
                pair.Nominated = true;
                Select(pair);
                return;
            }

            pair.NominateOnSuccess = true;
        }

        // Triggered check (RFC 8445 sec. 7.3.1.4).
        if (pair.State is IcePairState.Frozen or IcePairState.Waiting or IcePairState.Failed)
        {
            pair.State = IcePairState.Waiting;
            Trigger(pair, false);
        }
    }

    private void HandleResponse(StunMessage response, IceLocalCandidate local, IPEndPoint remote, TimeSpan now)
    {
        if (!_transactions.TryGetValue(response.TransactionId, out var tx))
        {
            return;
        }

        if (tx.Kind == TransactionKind.Gather)
        {
            _transactions.Remove(response.TransactionId);
            if (response.Class == StunClass.SuccessResponse && response.GetXorAddress(StunAttributeType.XorMappedAddress) is { } mapped &&
                !mapped.Equals(tx.Local.Base) && _locals.All(l => !l.Candidate.Address.Equals(mapped.Address.ToString(), StringComparison.Ordinal) || l.Candidate.Port != mapped.Port))
            {
                var srflx = AddLocal(IceCandidateType.ServerReflexive, mapped, tx.Local.Base, null, tx.Local.LocalPreference, "srflx" + tx.Remote, tx.Local.Base);
                _ = srflx;
            }

            GatherDone();
            return;
        }

        // Responses are authenticated with the peer's password (RFC 8445 sec. 7.2.5.1); forged ones are dropped.
        if (_remoteKey is null || !response.VerifyIntegrity(_remoteKey))
        {
            return;
        }

        _transactions.Remove(response.TransactionId);
        var pair = tx.Pair!;
        if (response.Class == StunClass.ErrorResponse)
        {
            if (response.GetErrorCode()?.Code == StunErrorCode.RoleConflict && tx.Kind == TransactionKind.Check)
            {
                // RFC 8445 sec. 7.2.5.1: switch to the role opposite to the one the request claimed, retry.
                if (IsControlling == tx.SentControlling)
                {
                    SwitchRole(!tx.SentControlling);
                }

                pair.State = IcePairState.Waiting;
                Trigger(pair, false);
                return;
            }

            if (tx.Kind == TransactionKind.Check)
            {
                FailPair(pair);
            }

            return;
        }

        // Non-symmetric responses fail the check (RFC 8445 sec. 7.2.5.2.1).
        if (!remote.Equals(tx.Remote) || tx.Local != local)
        {
            if (tx.Kind == TransactionKind.Check)
            {
                FailPair(pair);
            }

            return;
        }

        pair.LastConsent = now;
        if (tx.Kind == TransactionKind.Consent)
        {
            if (State == IceConnectionState.Disconnected && pair == _selected)
            {
                SetState(IceConnectionState.Connected);
            }

            return;
        }

        // A mapped address we do not know would be a local peer-reflexive candidate (RFC 8445 sec. 7.2.5.3.1).
        // It sends from the same base as the pair's local candidate, so the pair itself is what becomes valid.
        pair.State = IcePairState.Succeeded;
        pair.Valid = true;
        _firstValidAt ??= now;
        foreach (var other in _pairs)
        {
            if (other.State == IcePairState.Frozen && other.Foundation == pair.Foundation)
            {
                other.State = IcePairState.Waiting;
            }
        }

        if ((tx.UseCandidate && IsControlling) || (pair.NominateOnSuccess && !IsControlling))
        {
            pair.Nominated = true;
            if (_nominating == pair)
            {
                _nominating = null;
            }

            Select(pair);
        }
        else
        {
            // Usable before nomination: Chrome starts DTLS right after its first successful check.
            ReportSendPair();
        }

        MaybeNominate(now);
    }

    private void Select(IceCandidatePair pair)
    {
        var first = _selected is null;
        _selected = pair;
        ReportSendPair();
        if (first && !IsLite)
        {
            // Checks for this component are over once a pair is nominated (RFC 8445 sec. 8.1.2): drop what was
            // still waiting. Later checks from the peer still trigger checks (re-nomination), consent carries on.
            foreach (var p in _pairs)
            {
                if (p.State is IcePairState.Frozen or IcePairState.Waiting)
                {
                    p.State = IcePairState.Failed;
                }
            }

            _triggered.Clear();
        }

        if (State is IceConnectionState.New or IceConnectionState.Checking or IceConnectionState.Disconnected)
        {
            SetState(IceConnectionState.Connected);
        }
    }

    private void MaybeNominate(TimeSpan now)
    {
        if (IsLite || !IsControlling || _selected is not null || _nominating is not null || _remoteKey is null)
        {
            return;
        }

        IceCandidatePair? best = null;
        foreach (var p in _pairs)
        {
            if (p.Valid && p.State == IcePairState.Succeeded && (best is null || p.Priority > best.Priority))
            {
                best = p;
            }
        }

        if (best is null)
        {
            return;
        }

        var betterPending = _pairs.Any(p => p.Priority > best.Priority && p.State is IcePairState.Frozen or IcePairState.Waiting or IcePairState.InProgress);
        if (betterPending && now < _firstValidAt + _options.NominationDelay)
        {
            return;
        }

        _nominating = best;
        Trigger(best, true);
        // The nominating check goes out now instead of at the next Ta slot (up to Ta = 50 ms later, which was most of
        // the time to "connected" on a fast path): one request on a pair that has just proved to work. Ta paces checks
        // of untested pairs so that many candidates do not burst onto the network (RFC 8445 sec. 14.2); this is not that.
        _nextCheckAt = now;
        SendPacedCheck(now);
    }

    private void Trigger(IceCandidatePair pair, bool useCandidate)
    {
        for (var node = _triggered.First; node is not null; node = node.Next)
        {
            if (node.Value.Pair == pair)
            {
                if (useCandidate && !node.Value.UseCandidate)
                {
                    // The nomination goes first, as a new one would: left in place it waited behind every check queued
                    // before it, one Ta each.
                    _triggered.Remove(node);
                    _triggered.AddFirst((pair, true));
                }

                return;
            }
        }

        if (useCandidate)
        {
            _triggered.AddFirst((pair, true));
        }
        else
        {
            _triggered.AddLast((pair, false));
        }
    }

    /// <summary>Tests: queues a triggered check on the pair toward <paramref name="remote"/>, as an incoming check
    /// (<paramref name="useCandidate"/> false) or a nomination (true) does; a state that is hard to reach with inputs alone.</summary>
    internal void TriggerForTests(IPEndPoint remote, bool useCandidate) => Trigger(_pairs.First(p => p.Remote.EndPoint.Equals(remote)), useCandidate);

    private void SendPacedCheck(TimeSpan now)
    {
        if (_remoteKey is null || now < _nextCheckAt)
        {
            return;
        }

        IceCandidatePair? pair = null;
        var useCandidate = false;
        while (_triggered.First is { } first)
        {
            _triggered.RemoveFirst();
            if (first.Value.Pair.State != IcePairState.Failed || first.Value.UseCandidate)
            {
                (pair, useCandidate) = first.Value;
                break;
            }
        }

        if (pair is null)
        {
            pair = BestPair(IcePairState.Waiting);
            if (pair is null && BestPair(IcePairState.Frozen) is { } frozen)
            {
                pair = frozen;
            }
        }

        if (pair is null)
        {
            return;
        }

        // One check per pair at a time: a new check replaces an outstanding one (RFC 8445 sec. 7.2.5.4).
        foreach (var (id, tx) in _transactions.Where(t => t.Value.Pair == pair && t.Value.Kind == TransactionKind.Check).ToList())
        {
            _transactions.Remove(id);
            useCandidate |= tx.UseCandidate;
        }

        pair.State = pair.State == IcePairState.Succeeded ? IcePairState.Succeeded : IcePairState.InProgress;
        SendCheck(pair, TransactionKind.Check, useCandidate, now);
        _nextCheckAt = now + _options.Ta;
    }

    private void SendCheck(IceCandidatePair pair, TransactionKind kind, bool useCandidate, TimeSpan now)
    {
        var id = StunTransactionId.New();
        var request = new StunMessage(StunMethod.Binding, StunClass.Request, id)
            .AddString(StunAttributeType.Username, _remoteUfrag + ":" + LocalUfrag)
            .AddUInt32(StunAttributeType.Priority, IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, pair.Local.LocalPreference))
            .AddUInt64(IsControlling ? StunAttributeType.IceControlling : StunAttributeType.IceControlled, TieBreaker);
        if (useCandidate)
        {
            request.AddFlag(StunAttributeType.UseCandidate);
        }

        AddSoftware(request);
        var bytes = request.Encode(_remoteKey, fingerprint: true);
        _transactions[id] = new Transaction
        {
            Kind = kind,
            Pair = pair,
            Local = pair.Local,
            Remote = pair.Remote.EndPoint,
            Bytes = bytes,
            UseCandidate = useCandidate,
            SentControlling = IsControlling,
            Rto = _options.InitialRto,
            NextAt = now + _options.InitialRto,
            Transmissions = 1,
            MaxTransmissions = kind == TransactionKind.Consent ? ConsentTransmissions : _options.MaxCheckTransmissions,
        };
        Transmit(pair.Local, pair.Remote.EndPoint, bytes, now);
    }

    private void SendConsent(TimeSpan now)
    {
        if (_selected is null || State is not (IceConnectionState.Connected or IceConnectionState.Disconnected) || now < _nextConsentAt)
        {
            return;
        }

        SendCheck(_selected, TransactionKind.Consent, false, now);
        ScheduleConsent(now);
    }

    private void ScheduleConsent(TimeSpan now)
    {
        // RFC 7675 sec. 5.1: uniformly random in [0.8, 1.2] x interval so checks do not synchronise.
        var factor = 0.8 + (0.4 * _random.NextDouble());
        _nextConsentAt = now + (_options.ConsentInterval * factor);
    }

    private void EvaluateConsent(TimeSpan now)
    {
        if (ConsentPair() is not { } pair || State is not (IceConnectionState.Connected or IceConnectionState.Disconnected))
        {
            return;
        }

        var silence = now - pair.LastConsent;
        if (silence >= _options.ConsentTimeout)
        {
            // Consent expired: stop sending on this pair (RFC 7675 sec. 5.1).
            FailAgent();
        }
        else if (silence >= _options.DisconnectedTimeout && State == IceConnectionState.Connected)
        {
            SetState(IceConnectionState.Disconnected);
        }
        else if (silence < _options.DisconnectedTimeout && State == IceConnectionState.Disconnected)
        {
            SetState(IceConnectionState.Connected);
        }
    }

    private void EvaluateFailure(TimeSpan now)
    {
        if (IsLite || State != IceConnectionState.Checking || _selected is not null)
        {
            return;
        }

        if (_checkingSince is { } since && now >= since + _options.CheckingTimeout && !_pairs.Any(p => p.Valid))
        {
            FailAgent();
            return;
        }

        // With every candidate known (end-of-candidates, gathering done) and every pair failed, nothing can work.
        if (_remoteEndOfCandidates && (_gatheringComplete || !_gatheringStarted) && _pairs.All(p => p.State == IcePairState.Failed) &&
            _triggered.Count == 0 && _transactions.Values.All(t => t.Kind != TransactionKind.Check))
        {
            FailAgent();
        }
    }

    private void FailAgent()
    {
        _transactions.Clear();
        _triggered.Clear();
        SetState(IceConnectionState.Failed);
    }

    private void Retransmit(TimeSpan now)
    {
        List<StunTransactionId>? expired = null;
        foreach (var (id, tx) in _transactions)
        {
            if (tx.NextAt > now)
            {
                continue;
            }

            if (tx.Transmissions >= tx.MaxTransmissions)
            {
                (expired ??= []).Add(id);
                continue;
            }

            tx.Transmissions++;
            tx.Rto = Min(tx.Rto * 2, _options.MaxRto);
            tx.NextAt = now + tx.Rto;
            Transmit(tx.Local, tx.Remote, tx.Bytes, now);
        }

        foreach (var id in expired ?? [])
        {
            _transactions.Remove(id, out var tx);
            switch (tx!.Kind)
            {
                case TransactionKind.Check:
                    FailPair(tx.Pair!);
                    break;
                case TransactionKind.Gather:
                    GatherDone();
                    break;
                default:
                    // A lost consent check is judged by EvaluateConsent's clock, not per request.
                    break;
            }
        }
    }

    private void FailPair(IceCandidatePair pair)
    {
        pair.State = IcePairState.Failed;
        if (_nominating == pair)
        {
            _nominating = null;
        }
    }

    private void SwitchRole(bool controlling)
    {
        IsControlling = controlling;
        foreach (var p in _pairs)
        {
            p.ComputePriority(controlling);
        }

        _nominating = null;
        _events.Enqueue(new IceRoleChangedEvent(controlling));
    }

    private void SendError(StunMessage request, IceLocalCandidate local, IPEndPoint remote, int code, string reason, TimeSpan now)
    {
        var response = new StunMessage(StunMethod.Binding, StunClass.ErrorResponse, request.TransactionId).AddErrorCode(code, reason);
        AddSoftware(response);
        Transmit(local, remote, response.Encode(_localKey, fingerprint: true), now);
    }

    private bool Transmit(IceLocalCandidate local, IPEndPoint remote, ReadOnlySpan<byte> payload, TimeSpan now)
    {
        if (local.Relay is { } relay)
        {
            return relay.Client.Send(remote, payload, now);
        }

        _transmits.Enqueue(new IceTransmit(payload.ToArray(), local.Base, remote));
        return true;
    }

    private void GatherFrom(IceLocalCandidate host, TimeSpan now)
    {
        if (IsLite)
        {
            return;
        }

        foreach (var server in _options.Servers)
        {
            if (server.EndPoint.AddressFamily != host.Base.AddressFamily)
            {
                continue;
            }

            _pendingGathers++;
            if (server.IsTurn)
            {
                var client = new TurnClient(server.EndPoint, server.Username ?? "", server.Password ?? "", new TurnClientOptions { Software = _options.Software });
                _turns.Add(new IceTurnAllocation(client, host.Base));
                client.Start(now);
            }
            else
            {
                var id = StunTransactionId.New();
                var request = new StunMessage(StunMethod.Binding, StunClass.Request, id);
                AddSoftware(request);
                var bytes = request.Encode(fingerprint: true);
                _transactions[id] = new Transaction
                {
                    Kind = TransactionKind.Gather,
                    Local = host,
                    Remote = server.EndPoint,
                    Bytes = bytes,
                    Rto = _options.InitialRto,
                    NextAt = now + _options.InitialRto,
                    Transmissions = 1,
                    MaxTransmissions = MaxGatherTransmissions,
                };
                Transmit(host, server.EndPoint, bytes, now);
            }
        }
    }

    private void GatherDone()
    {
        _pendingGathers--;
        CheckGatheringComplete();
    }

    private void CheckGatheringComplete()
    {
        if (_gatheringStarted && !_gatheringComplete && _pendingGathers <= 0)
        {
            _gatheringComplete = true;
            _events.Enqueue(new IceGatheringCompleteEvent());
        }
    }

    /// <summary>Moves TURN clients' output into ours and reacts to their events.</summary>
    private void Pump(TimeSpan now)
    {
        for (var i = 0; i < _turns.Count; i++)
        {
            var turn = _turns[i];
            while (turn.Client.PollEvent() is { } e)
            {
                switch (e)
                {
                    case TurnAllocatedEvent allocated:
                        var local = AddLocal(IceCandidateType.Relayed, allocated.Relayed, turn.Base, turn, 65535 - i, "relay" + turn.Client.Server, allocated.Mapped);
                        turn.Candidate = local;
                        if (!turn.Done)
                        {
                            turn.Done = true;
                            GatherDone();
                        }

                        StartChecking(now);
                        break;
                    case TurnFailedEvent:
                        if (!turn.Done)
                        {
                            turn.Done = true;
                            GatherDone();
                        }

                        break;
                    case TurnDataEvent data when turn.Candidate is not null:
                        if (StunMessage.IsStun(data.Data))
                        {
                            if (StunMessage.TryParse(data.Data, out var message))
                            {
                                HandleStun(message, turn.Candidate, data.Peer, now);
                            }
                        }
                        else
                        {
                            _events.Enqueue(new IceDataReceivedEvent(data.Data, data.Peer));
                        }

                        break;
                    default:
                        break;
                }
            }

            while (turn.Client.PollTransmit() is { } bytes)
            {
                _transmits.Enqueue(new IceTransmit(bytes, turn.Base, turn.Client.Server));
            }
        }

        if (_selected?.Local.Relay is { } relay && relay.Client.State == TurnClientState.Allocated)
        {
            // Data on the selected relayed pair goes as ChannelData (4-byte header) rather than Send indications.
            relay.Client.BindChannel(_selected.Remote.EndPoint, now);
            while (relay.Client.PollTransmit() is { } bytes)
            {
                _transmits.Enqueue(new IceTransmit(bytes, relay.Base, relay.Client.Server));
            }
        }
    }

    private IceLocalCandidate AddLocal(IceCandidateType type, IPEndPoint address, IPEndPoint baseEndPoint, IceTurnAllocation? relay, int localPreference, string foundationKey, IPEndPoint? related)
    {
        var key = type + "|" + baseEndPoint.Address + "|" + foundationKey;
        if (!_foundations.TryGetValue(key, out var foundation))
        {
            foundation = (_foundations.Count + 1).ToString(CultureInfo.InvariantCulture);
            _foundations[key] = foundation;
        }

        var candidate = new IceCandidate
        {
            Foundation = foundation,
            Priority = IceCandidate.ComputePriority(type, localPreference),
            Address = address.Address.ToString(),
            Port = address.Port,
            Type = type,
            RelatedAddress = related?.Address.ToString(),
            RelatedPort = related?.Port,
        };
        var local = new IceLocalCandidate(candidate, baseEndPoint, localPreference, relay);
        _locals.Add(local);
        _events.Enqueue(new IceLocalCandidateEvent(candidate));

        // Server-reflexive candidates are not paired: they send from their base, which is paired already (RFC 8445 sec. 6.1.2.4).
        if (type != IceCandidateType.ServerReflexive && !IsLite)
        {
            foreach (var remote in _remotes)
            {
                AddPair(local, remote);
            }
        }

        return local;
    }

    private IceCandidatePair? AddPair(IceLocalCandidate local, IceRemoteCandidate remote)
    {
        if (local.Candidate.Type == IceCandidateType.ServerReflexive ||
            local.Candidate.EndPoint?.AddressFamily != remote.EndPoint.AddressFamily ||
            _pairs.Count >= _options.MaxPairs)
        {
            return null;
        }

        if (FindPair(local, remote) is { } existing)
        {
            return existing;
        }

        var pair = new IceCandidatePair(local, remote);
        pair.ComputePriority(IsControlling);

        // The first pair of a foundation waits; the rest stay frozen until one of theirs succeeds (RFC 8445 sec. 6.1.2.6).
        pair.State = _pairs.Any(p => p.Foundation == pair.Foundation) ? IcePairState.Frozen : IcePairState.Waiting;
        _pairs.Add(pair);
        return pair;
    }

    private void StartChecking(TimeSpan now)
    {
        if (State == IceConnectionState.New && !IsLite && _remoteKey is not null && _pairs.Count > 0)
        {
            _checkingSince = now;
            SetState(IceConnectionState.Checking);
        }
    }

    private bool HasCheckWork() =>
        _remoteKey is not null && (_triggered.Count > 0 || _pairs.Any(p => p.State is IcePairState.Waiting or IcePairState.Frozen));

    private IceCandidatePair? BestPair(IcePairState state)
    {
        IceCandidatePair? best = null;
        foreach (var p in _pairs)
        {
            if (p.State == state && (best is null || p.Priority > best.Priority))
            {
                best = p;
            }
        }

        return best;
    }

    private IceCandidatePair? SendPair()
    {
        if (_selected is not null)
        {
            return _selected;
        }

        IceCandidatePair? best = null;
        foreach (var p in _pairs)
        {
            if (p.Valid && (best is null || p.Priority > best.Priority))
            {
                best = p;
            }
        }

        return best;
    }

    private IceCandidatePair? ConsentPair() => _selected;

    /// <summary>Reports the pair <see cref="Send"/> would use whenever it changes.</summary>
    private void ReportSendPair()
    {
        var pair = SendPair();
        if (pair is not null && pair != _reported)
        {
            _reported = pair;
            _events.Enqueue(new IceSelectedPairChangedEvent(pair.Info));
        }
    }

    private IceLocalCandidate? FindHost(IPEndPoint local)
    {
        IceLocalCandidate? samePort = null;
        foreach (var l in _locals)
        {
            if (l.Candidate.Type != IceCandidateType.Host)
            {
                continue;
            }

            if (l.Base.Equals(local))
            {
                return l;
            }

            if (samePort is null && SameSocket(l.Base, local))
            {
                samePort = l;
            }
        }

        return samePort;
    }

    /// <summary>The driver may report a wildcard-bound socket's address as Any; then the port identifies it.</summary>
    private static bool SameSocket(IPEndPoint a, IPEndPoint b) =>
        a.Equals(b) || (a.Port == b.Port && (a.Address.Equals(IPAddress.Any) || b.Address.Equals(IPAddress.Any) ||
            a.Address.Equals(IPAddress.IPv6Any) || b.Address.Equals(IPAddress.IPv6Any)));

    private IceRemoteCandidate? FindRemote(IPEndPoint endPoint)
    {
        foreach (var r in _remotes)
        {
            if (r.EndPoint.Equals(endPoint))
            {
                return r;
            }
        }

        return null;
    }

    private IceCandidatePair? FindPair(IceLocalCandidate local, IceRemoteCandidate remote)
    {
        foreach (var p in _pairs)
        {
            if (p.Local == local && p.Remote == remote)
            {
                return p;
            }
        }

        return null;
    }

    private void SetState(IceConnectionState state)
    {
        if (State == state)
        {
            return;
        }

        State = state;
        if (state is IceConnectionState.Connected && !IsLite && _nextConsentAt == TimeSpan.MaxValue && _selected is not null)
        {
            _nextConsentAt = _selected.LastConsent + _options.ConsentInterval;
        }

        _events.Enqueue(new IceStateChangedEvent(state));
    }

    private void AddSoftware(StunMessage message)
    {
        if (_options.Software is { } software)
        {
            message.AddString(StunAttributeType.Software, software);
        }
    }

    private string RandomIceString(int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = IceChars[_random.Next(IceChars.Length)];
        }

        return new string(chars);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private enum TransactionKind
    {
        Check,
        Consent,
        Gather,
    }

    private sealed class Transaction
    {
        public TransactionKind Kind { get; init; }

        public IceCandidatePair? Pair { get; init; }

        public required IceLocalCandidate Local { get; init; }

        public required IPEndPoint Remote { get; init; }

        public required byte[] Bytes { get; init; }

        public bool UseCandidate { get; init; }

        public bool SentControlling { get; init; }

        public TimeSpan Rto { get; set; }

        public TimeSpan NextAt { get; set; }

        public int Transmissions { get; set; }

        public int MaxTransmissions { get; init; }
    }
}
