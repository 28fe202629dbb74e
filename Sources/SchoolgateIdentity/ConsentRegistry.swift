import Foundation
import SchoolgatePolicy
import Synchronization

/// The guests who have agreed to the terms, by client address, as the proxy and the portal
/// share them. Held in memory for the per-request check; the store keeps the record, and
/// `refresh` brings in what other processes changed there (a `consent revoke`).
public final class ConsentRegistry: Sendable {
    private struct Session {
        var record: ConsentRecord
        var lastSeen: Date
    }

    private struct State {
        var terms: ConsentTerms
        var sessions: [String: Session] = [:]
    }

    private let state: Mutex<State>

    public init(terms: ConsentTerms) {
        state = Mutex(State(terms: terms))
    }

    public var terms: ConsentTerms { state.withLock { $0.terms } }

    /// New terms (a reload): a new version means every guest agrees again.
    public func replaceTerms(_ terms: ConsentTerms) {
        state.withLock { $0.terms = terms }
    }

    /// The standing of `client` at `now`, without counting as activity (the page and the
    /// captive API ask; only browsing, through `use(by:at:)`, keeps a session alive).
    public func standing(of client: String, at now: Date) -> ConsentTerms.Standing {
        state.withLock { state in
            let session = state.sessions[client]
            return state.terms.standing(of: session?.record, lastSeen: session?.lastSeen, at: now)
        }
    }

    /// The agreement `client` browses under now, if one is in force; the request counts as
    /// activity, which keeps the session from going idle.
    public func use(by client: String, at now: Date) -> ConsentRecord? {
        state.withLock { state in
            guard let session = state.sessions[client],
                  state.terms.standing(of: session.record, lastSeen: session.lastSeen, at: now).isActive else { return nil }
            state.sessions[client]?.lastSeen = now
            return session.record
        }
    }

    public func record(_ record: ConsentRecord) {
        state.withLock { $0.sessions[record.client] = Session(record: record, lastSeen: record.consentedAt) }
    }

    /// Brings in the store's records (a `consent revoke` from the CLI, a restart): per client the
    /// newest agreement wins, the store's copy on a tie (it carries revocations), and what this
    /// process knows of the guest's last activity is kept.
    public func refresh(from records: [ConsentRecord]) {
        state.withLock { state in
            var latest: [String: ConsentRecord] = [:]
            for record in records where latest[record.client].map({ $0.consentedAt < record.consentedAt }) ?? true {
                latest[record.client] = record
            }
            var sessions: [String: Session] = [:]
            for (client, record) in latest {
                let known = state.sessions[client]
                // Times come back from the store through a Double: the same agreement may differ
                // by a rounding error, so "newer" means newer by more than a millisecond.
                let knownIsNewer = known.map { $0.record.consentedAt.timeIntervalSince(record.consentedAt) > 0.001 } ?? false
                if let known, knownIsNewer {
                    sessions[client] = known
                } else {
                    let sameAgreement = known.map { abs($0.record.consentedAt.timeIntervalSince(record.consentedAt)) <= 0.001 } ?? false
                    let lastSeen = sameAgreement ? known!.lastSeen : record.consentedAt
                    sessions[client] = Session(record: record, lastSeen: lastSeen)
                }
            }
            // An agreement given here and not yet written to the store stays.
            for (client, session) in state.sessions where sessions[client] == nil && session.record.id == nil {
                sessions[client] = session
            }
            state.sessions = sessions
        }
    }
}
