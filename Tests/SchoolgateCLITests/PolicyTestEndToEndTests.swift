import Foundation
import Testing

@Suite(.enabled(if: Schoolgate.isBuilt, "needs the built schoolgate binary"))
struct PolicyTestEndToEndTests {
    let config = Schoolgate.repository + "/config/schoolgate.conf"

    @Test func theShippedExpectationsHoldForTheShippedConfig() throws {
        let result = try Schoolgate.run(["policy", "test", Schoolgate.repository + "/config/policy-tests.txt", "--config", config])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("12 of 12 expectations hold."))
    }

    @Test func aFailedExpectationFailsTheRunAndABadLineIsNamed() throws {
        let file = NSTemporaryDirectory() + "expectations-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: file) }
        try """
            # staff are not blocked from gambling in this config? They are: this line fails.
            staff must reach https://gambling.filter-test.invalid/
            pupils-ks2 must not reach https://gambling.filter-test.invalid/
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let failed = try Schoolgate.run(["policy", "test", file, "--config", config])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("FAIL  line 2: staff must reach https://gambling.filter-test.invalid/  (block, blocked-category, gambling"))
        #expect(failed.stdout.contains("PASS  line 3:"))
        #expect(failed.stdout.contains("1 of 2 expectations hold; 1 FAILED"))

        try "staff must reach https://a.example/\nteachers must reach https://a.example/\nstaff should reach x\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try Schoolgate.run(["policy", "test", file, "--config", config])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("\(file):line 3: expected 'GROUP"), "\(bad.stderr)")
        #expect(!bad.stdout.contains("PASS"), "nothing is judged from a file that was not understood")
    }
}
