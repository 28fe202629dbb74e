#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file line by line in large blocks, handing each line to `body` without copying it
/// into a `String`: list files run to millions of lines.
enum LineReader {
    static func forEachLine(
        path: String, _ body: (_ lineNumber: Int, _ line: UnsafeBufferPointer<UInt8>) -> Void
    ) throws(ListFileError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ListFileError(path: path, reason: "cannot open: \(errnoText())") }
        defer { close(fd) }
        let blockSize = 1 << 20
        var buffer = [UInt8](repeating: 0, count: blockSize)
        var pending: [UInt8] = []
        var lineNumber = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, blockSize) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ListFileError(path: path, reason: "read failed: \(errnoText())")
            }
            if count == 0 { break }
            buffer.withUnsafeBufferPointer { block in
                var start = 0
                for index in 0..<count where block[index] == 0x0a {
                    lineNumber += 1
                    if pending.isEmpty {
                        body(lineNumber, strip(UnsafeBufferPointer(rebasing: block[start..<index])))
                    } else {
                        pending.append(contentsOf: block[start..<index])
                        pending.withUnsafeBufferPointer { body(lineNumber, strip($0)) }
                        pending.removeAll(keepingCapacity: true)
                    }
                    start = index + 1
                }
                pending.append(contentsOf: block[start..<count])
            }
        }
        if !pending.isEmpty {
            lineNumber += 1
            pending.withUnsafeBufferPointer { body(lineNumber, strip($0)) }
        }
    }

    /// Drops a carriage return (files edited on Windows) and surrounding blanks.
    @inline(__always)
    private static func strip(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var lower = 0, upper = line.count
        while lower < upper, line[lower] == 0x20 || line[lower] == 0x09 { lower += 1 }
        while upper > lower, line[upper - 1] == 0x0d || line[upper - 1] == 0x20 || line[upper - 1] == 0x09 { upper -= 1 }
        return UnsafeBufferPointer(rebasing: line[lower..<upper])
    }
}

func errnoText() -> String {
    String(cString: strerror(errno))
}

public struct ListFileError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
