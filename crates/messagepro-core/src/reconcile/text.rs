//! The text match of list reconciliation: whether a platform row's text can be what the
//! platform made of a local text (spintax resolved, OTP digits for `{{otp}}`, a footer after a
//! blank line). Hand-written: no library models Zender's spintax and footer rules.

use std::collections::HashSet;

use messagepro_store::{Channel, Message};

/// A piece of a text as the platform will render it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Lit(char),
    /// Spintax: one of the options (a `{x}` without `|` is one option).
    Alt(Vec<Vec<Node>>),
    /// The OTP placeholder: a run of digits.
    Digits,
}

/// Parses `text` into nodes. Unbalanced braces are literal.
fn parse(text: &str, otp: bool) -> Vec<Node> {
    fn seq(chars: &[char], i: &mut usize, otp: bool, nested: bool) -> (Vec<Vec<Node>>, bool) {
        let mut options = vec![Vec::new()];
        while *i < chars.len() {
            let c = chars[*i];
            if otp && c == '{' && chars.get(*i + 1) == Some(&'{') {
                let rest: String = chars[*i..].iter().collect();
                if let Some(end) = rest.find("}}") {
                    let inner = &rest[2..end];
                    if inner.trim() == "otp" {
                        options.last_mut().expect("one option").push(Node::Digits);
                        *i += rest[..end + 2].chars().count();
                        continue;
                    }
                }
            }
            match c {
                '{' => {
                    let save = *i;
                    *i += 1;
                    let (opts, closed) = seq(chars, i, otp, true);
                    if closed {
                        options
                            .last_mut()
                            .expect("one option")
                            .push(Node::Alt(opts));
                    } else {
                        *i = save + 1;
                        options.last_mut().expect("one option").push(Node::Lit('{'));
                    }
                }
                '}' if nested => {
                    *i += 1;
                    return (options, true);
                }
                '|' if nested => {
                    *i += 1;
                    options.push(Vec::new());
                }
                _ => {
                    *i += 1;
                    options.last_mut().expect("one option").push(Node::Lit(c));
                }
            }
        }
        (options, !nested)
    }
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    seq(&chars, &mut i, otp, false)
        .0
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Every end position reachable by matching `nodes` from each of `starts` in `text`.
fn advance(nodes: &[Node], text: &[char], starts: HashSet<usize>) -> HashSet<usize> {
    let mut pos = starts;
    for n in nodes {
        if pos.is_empty() {
            break;
        }
        pos = match n {
            Node::Lit(c) => pos
                .into_iter()
                .filter(|&p| text.get(p) == Some(c))
                .map(|p| p + 1)
                .collect(),
            Node::Digits => pos
                .into_iter()
                .flat_map(|p| {
                    let run = text[p.min(text.len())..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    (1..=run.min(10)).map(move |k| p + k)
                })
                .collect(),
            Node::Alt(opts) => opts
                .iter()
                .flat_map(|o| advance(o, text, pos.clone()))
                .collect(),
        };
    }
    pos
}

/// Whether `platform` (the stored text) can be what the platform made of `local`: the same text,
/// with spintax resolved, OTP digits in place of `{{otp}}`, and an optional footer after a
/// blank line.
pub fn text_matches(local: &Message, platform: &str) -> bool {
    let otp = local.channel == Channel::Otp;
    if !otp && local.text == platform {
        return true;
    }
    let nodes = parse(&local.text, otp);
    let text: Vec<char> = platform.chars().collect();
    let ends = advance(&nodes, &text, HashSet::from([0]));
    ends.iter()
        .any(|&e| e == text.len() || (text.get(e) == Some(&'\n') && text.get(e + 1) == Some(&'\n')))
}

#[cfg(test)]
mod tests {
    use messagepro_store::MessageStatus;

    use super::*;

    fn msg(channel: Channel, text: &str) -> Message {
        Message {
            id: 1,
            channel,
            recipient: "+224621234567".into(),
            text: text.into(),
            route: "{}".into(),
            status: MessageStatus::Pending,
            platform_id: None,
            platform_message: None,
            segments: 1,
            created_by: None,
            campaign_id: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn sms_text_must_match_exactly() {
        let m = msg(Channel::Sms, "Bonjour");
        assert!(text_matches(&m, "Bonjour"));
        assert!(!text_matches(&m, "Bonjour !"));
    }

    #[test]
    fn spintax_and_a_footer_match_what_the_platform_made_of_them() {
        let m = msg(Channel::Sms, "{Bonjour|Salut} {Awa|client}, promo !");
        assert!(text_matches(&m, "Salut Awa, promo !"));
        assert!(text_matches(&m, "Bonjour client, promo !"));
        assert!(text_matches(
            &m,
            "Bonjour client, promo !\n\nEnvoyé par Boutique"
        ));
        assert!(!text_matches(&m, "Bonsoir client, promo !"));
        assert!(!text_matches(&m, "Bonjour client, promo !!"));
        let nested = msg(Channel::Sms, "{a|{b|c}d}!");
        assert!(text_matches(&nested, "cd!"));
        assert!(!text_matches(&nested, "c!"));
        let unbalanced = msg(Channel::Sms, "prix {10");
        assert!(text_matches(&unbalanced, "prix {10"));
    }

    #[test]
    fn otp_text_matches_its_template_with_digits_only() {
        let m = msg(Channel::Otp, "Votre code : {{otp}}.");
        assert!(text_matches(&m, "Votre code : 483920."));
        assert!(!text_matches(&m, "Votre code : abc."));
        assert!(!text_matches(&m, "Autre code : 483920."));
    }
}
