import ArgumentParser
import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SchoolgateConfig
import SchoolgateFetch
import SchoolgatePolicy

/// `schoolgate lists update`: fetch the configured lists, check them, swap them in whole, keep
/// the last good copy, and have the running proxy reload. Any failure changes nothing.
struct ListsUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Download the lists in [list-updates], verify them, swap them in and reload the proxy.")
    @OptionGroup var options: MonitoringOptions
    @Argument(help: "Only these sources (default: all).") var names: [String] = []
    @Flag(help: "Do not ask the running proxy to reload afterwards.") var noReload = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        let (store, settings) = try await options.store()
        let sources = settings.listUpdates.filter { names.isEmpty || names.contains($0.name) }
        guard !sources.isEmpty else {
            printError("schoolgate: nothing to update: no [list-updates] sources" + (names.isEmpty ? "" : " named \(names.joined(separator: ", "))"))
            throw ExitCode(2)
        }
        var staged: [(ListUpdateSource, String)] = []
        defer { for (_, path) in staged { try? FileManager.default.removeItem(atPath: path) } }
        do {
            for source in sources {
                let download = try await Self.download(source)
                defer { try? FileManager.default.removeItem(atPath: download) }
                staged.append((source, try Self.stage(source, download: download)))
            }
            // The whole config, read with the new copies, must load as it will in the proxy.
            let overrides = Dictionary(uniqueKeysWithValues: staged.map { ($0.0.name, $0.1) })
            let checked: LoadedPolicy
            do {
                checked = try PolicyLoader.load(configPath: options.config.path, rootOverrides: overrides)
            } catch {
                throw Failure(description: "the new lists do not load: " + error.problems.prefix(3).map(\.description).joined(separator: "; "))
            }
            for (source, path) in staged { try Self.swap(path, into: source.target) }
            staged.removeAll()
            let summary = sources.map(\.name).joined(separator: ", ") + ": \(checked.totalEntries) list entries in all"
            try await options.audited(store, action: "lists update", detail: summary)
            print("Updated \(summary). The previous copies are kept beside them (.previous).")
        } catch {
            try? await options.audited(store, action: "lists update failed", detail: "\(error)")
            printError("schoolgate: lists update failed, nothing was changed: \(error)")
            throw ExitCode(1)
        }
        if !noReload, FileManager.default.fileExists(atPath: ServeCommand.pidFile(in: settings.monitoring.stateDirectory)) {
            let reload = try ReloadCommand.parse(["--config", options.config.path, "--as", options.who])
            try await reload.run()
        }
    }

    /// Fetches to a temporary file beside the target, showing progress on a terminal, and
    /// checks its size and (when configured) its SHA-256. Half an hour is allowed for the whole
    /// download (UT1's archive is about 20 MB, and a school's line may be slow), but a mirror
    /// that sends nothing for a minute is given up on.
    static func download(_ source: ListUpdateSource) async throws -> String {
        let path = source.target + ".download"
        let sink = try DownloadSink(path: path, name: source.name)
        do {
            try await HTTPFetch().get(source.url, timeout: .seconds(1800), response: { answer in
                guard answer.status == 200 else {
                    throw Failure(description: "\(source.name): \(answer.url.absoluteString) answered \(answer.status)")
                }
                sink.expect(answer.headers.first(name: "Content-Length").flatMap(Int.init))
            }, body: { try sink.write($0) })
        } catch {
            _ = sink.finish()
            try? FileManager.default.removeItem(atPath: path)
            if let failure = error as? Failure { throw failure }
            throw Failure(description: "\(source.name): download failed: \(error)")
        }
        let (total, digest) = sink.finish()
        guard total >= source.minimumBytes else {
            throw Failure(description: "\(source.name): only \(total) bytes (at least \(source.minimumBytes) expected)")
        }
        if let sha256 = source.sha256, sha256 != digest {
            throw Failure(description: "\(source.name): checksum \(digest) is not the configured \(sha256)")
        }
        return path
    }

    /// Unpacks an archive (or copies a file) into `target.new`: its single top folder, as UT1's
    /// `blacklists/`, becomes the root.
    static func stage(_ source: ListUpdateSource, download: String) throws -> String {
        let staging = source.target + ".new"
        try? FileManager.default.removeItem(atPath: staging)
        guard source.isArchive else {
            try FileManager.default.copyItem(atPath: download, toPath: staging)
            return staging
        }
        let unpack = staging + ".unpack"
        try? FileManager.default.removeItem(atPath: unpack)
        try FileManager.default.createDirectory(atPath: unpack, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: unpack) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", download, "-C", unpack, "--no-same-owner", "--no-same-permissions"]
        tar.standardOutput = FileHandle.nullDevice
        tar.standardError = FileHandle.nullDevice
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw Failure(description: "\(source.name): the archive could not be unpacked (tar exit \(tar.terminationStatus))") }
        let top = try FileManager.default.contentsOfDirectory(atPath: unpack).filter { !$0.hasPrefix(".") }
        var isFolder: ObjCBool = false
        let root = top.count == 1 && FileManager.default.fileExists(atPath: unpack + "/" + top[0], isDirectory: &isFolder) && isFolder.boolValue
            ? unpack + "/" + top[0] : unpack
        try FileManager.default.moveItem(atPath: root, toPath: staging)
        return staging
    }

    /// The new copy takes the target's place; the old one is kept as `.previous`.
    static func swap(_ staged: String, into target: String) throws {
        let previous = target + ".previous"
        try? FileManager.default.removeItem(atPath: previous)
        if FileManager.default.fileExists(atPath: target) { try FileManager.default.moveItem(atPath: target, toPath: previous) }
        try FileManager.default.moveItem(atPath: staged, toPath: target)
    }
}

/// Writes a download to disk as it arrives, hashing it and counting bytes for the progress line.
final class DownloadSink: Sendable {
    private struct State {
        var hasher = SHA256()
        var total = 0
        var expected: Int?
    }
    private let file: FileHandle
    private let name: String
    private let state = NIOLockedValueBox(State())
    private let showProgress = isatty(STDERR_FILENO) == 1

    init(path: String, name: String) throws {
        // A file that cannot be created is reported by the open just below.
        _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        guard let file = FileHandle(forWritingAtPath: path) else { throw ListsUpdateCommand.Failure(description: "\(path) cannot be written") }
        self.file = file
        self.name = name
    }

    func expect(_ length: Int?) {
        state.withLockedValue { $0.expected = length }
    }

    func write(_ buffer: ByteBuffer) throws {
        let data = Data(buffer.readableBytesView)
        try file.write(contentsOf: data)
        let (total, expected) = state.withLockedValue { state in
            state.hasher.update(data: data)
            state.total += data.count
            return (state.total, state.expected)
        }
        if showProgress {
            let of = expected.map { " of \($0 / 1_048_576) MB" } ?? ""
            FileHandle.standardError.write(Data("\r\(name): \(total / 1_048_576) MB\(of)".utf8))
        }
    }

    /// Closes the file; the bytes written and their SHA-256 in hex.
    func finish() -> (Int, String) {
        try? file.close()
        let (total, digest) = state.withLockedValue { ($0.total, $0.hasher.finalize()) }
        if showProgress { FileHandle.standardError.write(Data("\r\(name): \(total) bytes\n".utf8)) }
        return (total, digest.map { String(format: "%02x", $0) }.joined())
    }
}
