import Testing
@testable import SchoolgateStore

@Suite struct FreedMemoryTests {
    #if os(Linux)
    @Test func glibcTakesBackTheHolesAWrittenBacklogLeaves() {
        #expect(FreedMemory.canReturn)
        // What a written backlog leaves: many small blocks, nearly all freed, a few still in use
        // between them, so that the heap cannot simply shrink from its top.
        let blocks = (0..<200_000).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 96, alignment: 16) }
        for (index, block) in blocks.enumerated() { block.storeBytes(of: UInt64(index), as: UInt64.self) }
        var kept: [UnsafeMutableRawPointer] = []
        for (index, block) in blocks.enumerated() {
            if index % 2_000 == 0 { kept.append(block) } else { block.deallocate() }
        }
        #expect(FreedMemory.returnToSystem())
        // What is still in use is untouched.
        #expect(kept.enumerated().allSatisfy { $1.load(as: UInt64.self) == UInt64($0 * 2_000) })
        kept.forEach { $0.deallocate() }
    }
    #endif
}
