import Foundation
import NIOCore
import NIOHTTP1
import SchoolgatePolicy

/// The page a pupil sees instead of a blocked site: what was blocked and why in plain words, a
/// reference the ICT office can look up, and how to ask for a review. No internal detail (list
/// files, config lines, addresses) is shown.
enum BlockPage {
    static func render(host: String, decision: Decision?, reason: String? = nil, configuration: ProxyConfiguration, reference: String) -> String {
        let category = decision?.category.map { $0.replacingOccurrences(of: "-", with: " ") }
        let why: String
        switch decision?.rule {
        case .lockedList?: why = "This address is on a list that every school must block."
        case .walledGarden?: why = "Only the websites chosen for your class can be opened."
        case .timeRuleBlock?: why = "This kind of website is not available at this time of day."
        case .some: why = category.map { "This website is in a category the school blocks: \($0)." } ?? "The school blocks this website."
        case nil: why = reason ?? "The school blocks this website."
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Blocked by \(escape(configuration.schoolName))</title>
            <style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#111;background:#fff}
            h1{font-size:1.6rem}code{background:#eee;padding:.1rem .3rem;border-radius:.2rem}</style></head>
            <body><h1>This website is blocked</h1>
            <p><strong>\(escape(host))</strong> cannot be opened on the \(escape(configuration.schoolName)) network.</p>
            <p>\(escape(why))</p>
            <p>If you need it for your work, \(escape(configuration.reviewContact)), and give this reference: <code>\(escape(reference))</code></p>
            </body></html>

            """
    }

    /// Short, unguessable enough to not reveal anything, easy to read out.
    static func reference() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        return String((0..<8).map { _ in alphabet.randomElement()! })
    }

    static func escape(_ text: String) -> String { HTML.escape(text) }
}
