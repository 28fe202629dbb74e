import Foundation
import SchoolgateConfig

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
}

/// A folder of its own per test, removed afterwards, so tests can run in parallel.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "schoolgate-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// A minimal valid config around the given categories and groups.
func configText(categories: String, groups: String, extra: String = "") -> String {
    """
    [school]
    name = Test School
    timezone = Europe/London
    \(extra)
    \(categories)
    \(groups)
    """
}

func loadProblems(_ text: String, in directory: TemporaryDirectory) throws -> [ConfigProblem] {
    let file = try directory.write("schoolgate.conf", text)
    do {
        _ = try PolicyLoader.load(configPath: file)
        return []
    } catch {
        return error.problems
    }
}
