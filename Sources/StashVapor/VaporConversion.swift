import HTTPTypes
import NIOHTTP1
import Vapor

/// Vapor's request and response heads (NIO's HTTP/1 types) as swift-http-types heads, and back.
enum VaporConversion {
    /// A Vapor request's head: its method, target, `Host` as the authority, and its other header fields (a field
    /// whose name is not a valid token is left out: NIO's parser admits none).
    static func head(of request: Request) -> HTTPRequest {
        var fields = HTTPFields()
        fields.reserveCapacity(request.headers.count)
        var authority: String?
        for (name, value) in request.headers {
            if authority == nil, name.utf8.count == 4, name.lowercased() == "host" {
                authority = value
                continue
            }
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        let method = HTTPRequest.Method(request.method.rawValue) ?? .get
        return HTTPRequest(method: method, scheme: nil, authority: authority, path: request.url.string, headerFields: fields)
    }

    /// Gives a Vapor request the head a middleware passed on (method, target and header fields).
    static func apply(_ head: HTTPRequest, to request: Request) {
        request.method = HTTPMethod(rawValue: head.method.rawValue)
        request.url = URI(string: head.path ?? "/")
        var headers = Self.headers(head.headerFields)
        if let authority = head.authority { headers.replaceOrAdd(name: .host, value: authority) }
        request.headers = headers
    }

    /// A swift-http-types status as Vapor's.
    static func status(_ status: HTTPResponse.Status) -> HTTPResponseStatus {
        HTTPResponseStatus(statusCode: status.code, reasonPhrase: status.reasonPhrase)
    }

    /// Vapor's status as a swift-http-types status.
    static func status(_ status: HTTPResponseStatus) -> HTTPResponse.Status {
        HTTPResponse.Status(code: Int(status.code), reasonPhrase: status.reasonPhrase)
    }

    /// Header fields as NIO's HTTP/1 headers, in order.
    static func headers(_ fields: HTTPFields) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count)
        for field in fields { headers.add(name: field.name.rawName, value: field.value) }
        return headers
    }

    /// NIO's HTTP/1 headers as header fields, in order (a field whose name is not a valid token is left out).
    static func fields(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count)
        for (name, value) in headers {
            guard let fieldName = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }
}
