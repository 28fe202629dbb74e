import Foundation

/// The squidGuard / UT1 folder conventions beyond one category's files.
enum SquidGuardLayout {
    /// Resolves `relative` under `base`, following category aliases. UT1 makes `porn` a symlink
    /// to `adult`; copies that lost their symlinks (zip files, some mirrors) keep a small file
    /// whose whole text is the target's name. Both are followed, up to a few hops.
    static func resolve(base: String, relative: String) -> String {
        var path = (base as NSString).appendingPathComponent(relative)
        for _ in 0..<4 {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  let size = attributes[.size] as? Int, size < 256,
                  let text = try? String(contentsOfFile: path, encoding: .utf8) else { break }
            let target = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !target.isEmpty, !target.contains("/"), !target.contains(where: \.isWhitespace) else { break }
            let candidate = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
            guard FileManager.default.fileExists(atPath: candidate) else { break }
            path = candidate
        }
        return path
    }

    /// The `usage` file of a category folder: `black`, `white`, or nil when absent.
    static func usage(ofFolder path: String) -> String? {
        let file = (path as NSString).appendingPathComponent("usage")
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .first { $0 == "black" || $0 == "white" }
    }
}
