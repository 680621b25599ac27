//! Every documented error message of spec §2 maps to its variant, keeping status and wording.

use messagepro::Error;
use serde_json::json;
use wiremock::Mock;
use wiremock::matchers::any;

use crate::helpers::*;

type Check = fn(&Error) -> bool;

/// (status, exact message, expected variant) — every message string of the §2 tables.
const TABLE: &[(i64, &str, Check)] = &[
    (400, "Invalid Parameters!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (401, "Invalid API secret supplied!", |e| {
        matches!(e, Error::InvalidSecret(_))
    }),
    (
        403,
        "This API key doesn't have permission to use this endpoint!",
        |e| matches!(e, Error::PermissionDenied(_)),
    ),
    (403, "Insufficient Permissions!", |e| {
        matches!(e, Error::PermissionDenied(_))
    }),
    (400, "Invalid API Endpoint!", |e| {
        matches!(e, Error::UnknownEndpoint(_))
    }),
    (500, "Invalid API Endpoint!", |e| {
        matches!(e, Error::UnknownEndpoint(_))
    }),
    (500, "System configuration error!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (400, "Invalid phone number!", |e| {
        matches!(e, Error::InvalidPhone(_))
    }),
    (400, "OTP message is too short!", |e| {
        matches!(e, Error::MessageTooShort(_))
    }),
    (400, "OTP message is too long!", |e| {
        matches!(e, Error::MessageTooLong(_))
    }),
    (400, "Message is too short!", |e| {
        matches!(e, Error::MessageTooShort(_))
    }),
    (400, "Message is too long!", |e| {
        matches!(e, Error::MessageTooLong(_))
    }),
    (400, "Chat message is too short!", |e| {
        matches!(e, Error::MessageTooShort(_))
    }),
    (400, "Chat message is too long!", |e| {
        matches!(e, Error::MessageTooLong(_))
    }),
    (
        403,
        "Account is not subscribed to any premium package!",
        |e| matches!(e, Error::NotSubscribed(_)),
    ),
    (
        400,
        "Account is not subscribed to any premium package!",
        |e| matches!(e, Error::NotSubscribed(_)),
    ),
    (403, "You are not subscribed to any premium package!", |e| {
        matches!(e, Error::NotSubscribed(_))
    }),
    (
        403,
        "Maximum allowed number of sent messages has been reached!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (
        403,
        "The daily allowed messages has been reached for this device, please try again later!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (
        403,
        "The monthly allowed messages has been reached for this device, please try again later!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (
        403,
        "You have reached the maximum sent messages for your current package!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (
        403,
        "You have reached the maximum number of allowed chats!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (
        403,
        "Maximum number of USSD requests has been reached!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (400, "You have reached the maximum allowed contacts!", |e| {
        matches!(e, Error::QuotaReached(_))
    }),
    (
        400,
        "You have reached the maximum allowed WhatsApp accounts for your package!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (
        500,
        "No chats were queued. Please check the sending limit of your package!",
        |e| matches!(e, Error::QuotaReached(_)),
    ),
    (404, "Device doesn't exist!", |e| {
        matches!(e, Error::DeviceNotFound(_))
    }),
    (404, "Specified gateway doesn't exist!", |e| {
        matches!(e, Error::GatewayNotFound(_))
    }),
    (500, "We encountered a gateway error!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (
        403,
        "You cannot send messages with credits using your own devices!",
        |e| matches!(e, Error::DeviceUnavailable(_)),
    ),
    (
        500,
        "You cannot send messages with credits using your own devices!",
        |e| matches!(e, Error::DeviceUnavailable(_)),
    ),
    (403, "Device is not available!", |e| {
        matches!(e, Error::DeviceUnavailable(_))
    }),
    (404, "Specified shortener doesn't exist!", |e| {
        matches!(e, Error::Other(_))
    }),
    (500, "We encountered a shortener error!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (403, "Not enough credits to send this message!", |e| {
        matches!(e, Error::NotEnoughCredits(_))
    }),
    (500, "Gateway was unable to send your message!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (400, "Priority parameter must be an integer value!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Sim parameter must be an integer value!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (404, "WhatsApp account doesn't exist!", |e| {
        matches!(e, Error::WhatsAppAccountNotFound(_))
    }),
    (500, "Unable to connect to WhatsApp servers!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (500, "WhatsApp account is disconnected!", |e| {
        matches!(e, Error::WhatsAppDisconnected(_))
    }),
    (500, "WhatsApp account is not connected!", |e| {
        matches!(e, Error::WhatsAppDisconnected(_))
    }),
    (500, "Something went wrong!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (500, "Failed sending WhatsApp chat!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (500, "Failed adding chat to WhatsApp queue!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (500, "Failed adding chats to WhatsApp queue!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (400, "You provided an invalid media url!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Please declare the media type!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Invalid media file!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (500, "Invalid media file!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "You provided an invalid document url!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Please declare the document type!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Invalid Document Type!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Invalid Document File!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (500, "Sorry, we are unable to process your message.", |e| {
        matches!(e, Error::Platform(_))
    }),
    (500, "Campaign name is too short!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (403, "OTP is invalid or expired!", |e| {
        matches!(e, Error::OtpInvalidOrExpired(_))
    }),
    (
        404,
        "No WhatsApp servers available for your subscription!",
        |e| matches!(e, Error::Other(_)),
    ),
    (401, "Invalid token supplied!", |e| {
        matches!(e, Error::InvalidSecret(_))
    }),
    (400, "QR string is too short to be valid!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (
        500,
        "Something went wrong while generating the image!",
        |e| matches!(e, Error::Platform(_)),
    ),
    (500, "Unable to fetch group contacts!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (400, "WhatsApp server is not available!", |e| {
        matches!(e, Error::Other(_))
    }),
    (500, "Unable to generate WhatsApp QRCode!", |e| {
        matches!(e, Error::Platform(_))
    }),
    (400, "Contact name is too short!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (400, "Group #7 is invalid!", |e| {
        matches!(e, Error::Other(_))
    }),
    (
        400,
        "Phone number already exist in your contact book!",
        |e| matches!(e, Error::Other(_)),
    ),
    (400, "Group name is too short!", |e| {
        matches!(e, Error::InvalidParameters(_))
    }),
    (404, "WhatsApp phone number does not exist!", |e| {
        matches!(e, Error::Other(_))
    }),
    // Q21 (newer builds)
    (
        403,
        "Subscription has no permission to use SMS services!",
        |e| matches!(e, Error::ServiceNotInPackage(_)),
    ),
    (
        403,
        "Subscription has no permission to use WhatsApp services!",
        |e| matches!(e, Error::ServiceNotInPackage(_)),
    ),
    (
        403,
        "Subscription has no permission to use Android USSD service!",
        |e| matches!(e, Error::ServiceNotInPackage(_)),
    ),
    (
        400,
        "We detected inappropriate content in your message!",
        |e| matches!(e, Error::ContentRejected(_)),
    ),
    (
        400,
        "We detected inappropriate content in your media!",
        |e| matches!(e, Error::ContentRejected(_)),
    ),
    (404, "Message doesn't exist!", |e| {
        matches!(e, Error::MessageNotFound(_))
    }),
    (500, "Failed sending priority WhatsApp chat!", |e| {
        matches!(e, Error::Platform(_))
    }),
];

#[tokio::test]
async fn every_documented_message_maps_to_its_variant_and_keeps_status_and_text() {
    let (server, client) = setup().await;
    for (status, message, check) in TABLE {
        // Arrange
        server.reset().await;
        Mock::given(any())
            .respond_with(envelope(*status, message, json!(false)))
            .mount(&server)
            .await;

        // Act
        let err = client.get_credits().await.unwrap_err();

        // Assert
        assert!(check(&err), "{status} {message:?} mapped to {err:?}");
        assert_eq!(err.status(), Some(*status), "{message}");
        assert_eq!(err.platform_message(), Some(*message));
        assert!(err.to_string().contains(message), "{err}");
        assert!(
            !err.is_ambiguous(),
            "a platform answer is definitive: {message}"
        );
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "platform errors are not retried"
        );
    }
}

#[tokio::test]
async fn the_acceptance_answer_not_enough_credits_is_an_error_despite_http_200() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(envelope(
            403,
            "Not enough credits to send this message!",
            json!(false),
        ))
        .mount(&server)
        .await;
    let phone = client.parse_phone("621234567").unwrap();
    let err = client
        .send_sms(&messagepro::SendSms::new(
            phone,
            "Bonjour",
            messagepro::SmsRoute::device("d"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotEnoughCredits(ref p) if p.status == 403));
}

#[tokio::test]
async fn verify_otp_failure_is_the_otp_variant() {
    let (server, client) = setup().await;
    Mock::given(any())
        .respond_with(envelope(403, "OTP is invalid or expired!", json!(false)))
        .mount(&server)
        .await;
    assert!(matches!(
        client.verify_otp("111111").await,
        Err(Error::OtpInvalidOrExpired(_))
    ));
}

#[tokio::test]
async fn a_missing_secret_is_reported_with_the_variable_to_set() {
    let err = messagepro::Client::builder()
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::MissingSecret));
    let text = err.to_string();
    assert!(text.contains("MESSAGEPRO_API_SECRET"), "{text}");
    assert!(text.contains(".env"), "{text}");
}
