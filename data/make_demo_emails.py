"""Write data/emails_ledgerly.csv and data/emails_brightbean.csv: past emails of two FICTIONAL brands.

All copy below is hand-written for the demo. Each email is composed from pieces written for its
campaign type (subject, opening, a call to action) and one or two brand detail paragraphs, with a
greeting and the brand's sign-off and footer, so that no two emails read alike. Pieces marked with a
leading "!" are deliberately off-voice (hype for Ledgerly, stiff corporate copy for Bright Bean): the
engagement numbers follow the quality of the pieces plus noise, so the best performers are the best
of each brand's voice. The data also carries the mess a real export has: HTML bodies, utm and
click-tracking links, a repeated unsubscribe footer, quoted replies, resends and tiny test sends.

    python data/make_demo_emails.py        # deterministic (seeded); rewrites both CSV files
"""

from __future__ import annotations

import csv
import math
import random
import re
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ["Priya", "Marcus", "Elena", "Tomás", "Grace", "Owen", "Hana", "Felix", "Nadia", "Jonah",
         "Ruth", "Malik", "Ingrid", "Caleb", "Leah", "Sami", "Theo", "Wren", "Anika", "Desmond",
         "Lucia", "Bram", "Ivy", "Rafael", "Mei", "Gustavo", "Oona", "Kwame"]
COMPANIES = ["Harlow Freight", "Pinecrest Dental Group", "Northgate Supply", "Tallis Biotech",
             "Merrow & Finch", "Bluefield Clinics", "Orchard Lane Foods", "Kestrel Logistics",
             "Vantor Labs", "Greywell Properties", "Copperline Solar", "Foxglove Retail"]

LEDGERLY = {
    "name": "Ledgerly", "domain": "ledgerly.example", "utm": "ledgerly",
    "signoffs": ["— The Ledgerly team"] * 6 + ["— Maya Lindqvist, Ledgerly",
                                                 "— Jordan Pike, Customer Success, Ledgerly"],
    "footer": ["Ledgerly Inc., 410 Market Street, Suite 300, Denver, CO 80202 · "
               "Unsubscribe: https://ledgerly.example/unsubscribe"],
    "generic": ["Hi there,", "Hello,", "Hi {company} team,"],
    "ps": ["P.S. Our support team answers in under two hours on weekdays, month-end included.",
           "P.S. If someone else on your team owns the close, forward this. We will follow up "
           "with them, not you.",
           "P.S. We never charge for implementation. If setup takes longer than a week, that is "
           "on us.",
           "P.S. The 5-Day Close e-book is free and has no form in front of it: "
           "https://{domain}/ebook?utm_source=hubspot&utm_medium=email",
           "P.S. Month-end this week? Ignore this until Monday. It will keep."],
    "details": [
        "Ledgerly matches bank lines to the ledger on its own. Most teams see 85-95% matched before "
        "anyone opens a spreadsheet. The rest land in one queue with the likely match suggested.",
        "Accruals run from schedules you set once. Ledgerly posts them on day one of the close and "
        "reverses them on day one of the next. No more copying last month's journal by hand.",
        "Flux analysis is built in. Every account that moved more than your threshold gets flagged, "
        "with the transactions behind the change one click away.",
        "{example} closed in 5 days last quarter. A year ago it took them 11. They did not add "
        "headcount. They stopped reconciling by hand.",
        "The close checklist lives next to the numbers. Each task has an owner, a due date and the "
        "evidence attached, so review happens as you go, not on day ten.",
        "Auditors get read-only access to the same workpapers your team uses. {example} cut audit "
        "prep from three weeks to four days.",
        "Ledgerly connects to NetSuite, Sage Intacct, QuickBooks Online and Xero. Setup takes about "
        "two hours; most of that is mapping your chart of accounts.",
        "Intercompany eliminations run across entities automatically. If two entities disagree, you "
        "see the difference and the transactions that caused it.",
        "Pricing is per entity, not per seat: Team is $600 a month for up to 3 entities, Growth is "
        "$1,400 for up to 10. Your auditor's seat is free.",
        "Every change is logged: who changed what, when, and why. That is the audit trail SOX "
        "reviewers ask for, without a separate tool.",
        "Variance commentary is drafted from the flux report. Your team edits it instead of writing "
        "it from scratch at 9 p.m. on day eight.",
        "Prepaid and fixed-asset schedules amortize on their own. Upload the invoice once and the "
        "schedule posts every month until it is done.",
        "Bank feeds refresh every morning at 6. By the time your team logs in, yesterday's "
        "transactions are matched or waiting in the exceptions queue.",
        "You can lock a period once it is reviewed. Late entries go to the next period with a note, "
        "so last month's numbers stop moving after you report them.",
        "{example} runs four entities in two currencies. FX revaluation posts on its own at month-end "
        "with the rates logged for the auditors.",
        "Reviewers sign off line by line. When an account changes after sign-off, the sign-off is "
        "cleared and the preparer gets a note. Nothing slips through quietly.",
        "!Ledgerly is a revolutionary, AI-powered, best-in-class platform that will completely "
        "transform the way your finance organization thinks about the close forever.",
        "!Our cutting-edge solution leverages synergies across your entire finance stack to unlock "
        "unprecedented value and empower your team to achieve world-class outcomes.",
        "!We are the leading close automation platform trusted by innovative companies everywhere, "
        "and we truly believe we can be a game changer for you too.",
    ],
    "campaigns": {
        "after_demo": {
            "segments": ["mid-market", "enterprise", "smb"],
            "audiences": ["Controller", "VP Finance", "CFO", "Accounting Manager"],
            "sends": (120, 1800),
            "rates": (0.52, 0.09, 0.05, 0.020),
            "subjects": ['Your Ledgerly demo: the bank rec part | {days} days to close, and where they go | Follow-up: bank rec numbers from today',
                         "Recap of this morning's demo | Your Ledgerly demo, in five lines",
                         "What {company}'s close could look like | Accruals and the checklist, as promised",
                         "Setup time and cost, as asked | Two answers from today's demo",
                         '!Thank you for attending our amazing demo!!!',
            ],
            "openings": [
                "Thanks for the time today. You said your close takes {days} days and most of it is "
                "bank reconciliation. That is the part Ledgerly is best at.",
                "Good talking with you this morning. Here is a short recap so you do not have to "
                "dig through your notes.",
                "Thanks for walking us through how {company} closes the books. Two things stood out: "
                "the manual accruals and the spreadsheet checklist.",
                "You asked how long setup takes and what it costs. Short answers below.",
                "!We wanted to reach out and thank you so much for taking the time out of your very "
                "busy schedule to join us for what we hope was an exciting demo.",
            ],
            "ctas": [
                "If it helps, we can run a pilot on last month's close with your own data. It takes "
                "one call to set up: https://{domain}/pilot?utm_source=hubspot&utm_medium=email"
                "&utm_campaign=after_demo",
                "Reply with a time that works and we will bring your controller into the next call.",
                "The recording is here if you want to share it with your team: "
                "https://{domain}/demo-recording?utm_source=hubspot&utm_medium=email",
                "Want the security pack for IT? Reply and we will send it today.",
            ],
        },
        "content_download": {
            "segments": ["mid-market", "smb", "enterprise"],
            "audiences": ["Controller", "Accounting Manager", "Staff Accountant", "VP Finance"],
            "sends": (700, 9000),
            "rates": (0.44, 0.06, 0.012, 0.008),
            "subjects": ['Your copy of the pricing guide | Did the pricing guide answer it? | One thing the pricing guide buries',
                         'About the e-book: read chapter 3 first | The 5-Day Close: where to start',
                         'The month-end close checklist you downloaded | Your checklist needs owners',
                         'Where to start after the close guide | A shorter version of the close guide',
                         '!Unlock the secrets of a world-class close today',
            ],
            "openings": [
                "You downloaded our pricing guide last week. One thing it does not say clearly: "
                "you pay per entity, not per seat.",
                "Thanks for grabbing \"The 5-Day Close\" e-book. If you only read one chapter, read "
                "chapter 3. It covers the reconciliations that eat the most time.",
                "You picked up the month-end close checklist. Teams that use it well tend to change "
                "one thing first: they assign an owner to every line.",
                "Most people who download the close guide ask the same next question: where do "
                "we start?",
                "!We noticed you downloaded one of our premium resources and we could not be more "
                "excited to continue this journey together with you.",
            ],
            "ctas": [
                "The worked example from the guide is here: https://{domain}/guides/close-checklist"
                "?utm_source=hubspot&utm_medium=email&utm_campaign=content",
                "If you want the numbers for your setup, reply with your entity count and ERP.",
                "A 20-minute walkthrough is here, no sales pitch: https://{domain}/walkthrough"
                "?utm_source=hubspot&utm_medium=email&utm_content=guide",
            ],
        },
        "trial_ending": {
            "segments": ["trial users"],
            "audiences": ["Controller", "Accounting Manager", "Finance Ops Lead"],
            "sends": (300, 4500),
            "rates": (0.58, 0.12, 0.03, 0.060),
            "subjects": ['Your trial ends Friday | {matched} bank lines matched. Trial ends Friday.',
                         '3 days left: keep your reconciliations | What happens to your data when the trial ends',
                         'Before your trial ends: one step | Trial ends this week. Connect your ERP first.',
                         "!LAST CHANCE!!! Don't miss out on Ledgerly",
            ],
            "openings": [
                "Your Ledgerly trial ends on Friday. Here is what you have done so far: {matched} bank "
                "lines matched and {tasks} close tasks set up.",
                "Three days left on your trial. Nothing is deleted when it ends; your workspace is "
                "kept for 30 days.",
                "Your trial wraps up this week. If you have not connected your ERP yet, that is the "
                "one step worth doing before then.",
                "!Time is running out! Your free trial is about to expire and you will lose access to "
                "all of the incredible features you have been enjoying.",
            ],
            "ctas": [
                "Pick a plan here and keep everything as it is: https://{domain}/billing"
                "?utm_source=app&utm_medium=email&utm_campaign=trial_end",
                "Need two more weeks to finish a close? Reply and we will extend it.",
                "Questions about pricing or contracts? Reply here. A person answers.",
            ],
        },
        "reengage_cold": {
            "segments": ["cold leads"],
            "audiences": ["Controller", "CFO", "VP Finance"],
            "sends": (2000, 25000),
            "rates": (0.24, 0.025, 0.006, 0.002),
            "subjects": ['Still closing in spreadsheets? | How long did your last close take?',
                         'Two things we shipped since spring | What changed since we last spoke',
                         'Should we stop emailing? | Last one from us',
                         "!Exciting news you won't want to miss!",
            ],
            "openings": [
                "It has been a while. Quick question: how many days did your last close take?",
                "We last spoke in the spring. Since then we shipped flux analysis and "
                "intercompany eliminations.",
                "This is the last email we will send unless you tell us otherwise.",
                "!We hope this email finds you well! We have been thinking about you and wanted to "
                "circle back to touch base and reconnect about synergies.",
            ],
            "ctas": [
                "If the answer is more than six, a 20-minute call might be worth it: "
                "https://click.{domain}/ls/click?upn=Xy7kQ2&url=https%3A%2F%2F{domain}%2Fbook"
                "%3Futm_source%3Dhubspot%26utm_medium%3Demail",
                "If now is not the time, reply \"later\" and we will check back next quarter.",
                "Reply with a yes and we will send a 2-minute video on your ERP.",
            ],
        },
        "after_webinar": {
            "segments": ["mid-market", "enterprise"],
            "audiences": ["Controller", "Accounting Manager", "VP Finance"],
            "sends": (300, 4000),
            "rates": (0.50, 0.10, 0.015, 0.010),
            "subjects": ['Slides and recording: Closing in 5 days | The flux template from the webinar',
                         'You missed the live session, here is the 12-minute cut | The webinar in 12 minutes',
                         'Your question from the webinar | The top question from Thursday',
                         '!Webinar recap: Amazing insights from industry thought leaders',
            ],
            "openings": [
                "Thanks for joining \"Closing in 5 days\" on Thursday. The recording and slides are "
                "below.",
                "Sorry we missed you at the webinar. We cut the hour down to the 12 minutes that "
                "matter.",
                "{example}'s controller took the most questions on Thursday. The top one: what did you "
                "automate first?",
                "!What an incredible webinar! We were blown away by the energy and engagement from "
                "our amazing community of finance leaders.",
            ],
            "ctas": [
                "Recording and slides: https://{domain}/webinars/5-day-close?utm_source=zoom"
                "&utm_medium=email&utm_campaign=webinar_q3",
                "Reply with your ERP and we will send the matching rules other teams use.",
                "Book 20 minutes to see it on your own chart of accounts: https://{domain}/book",
            ],
        },
        "missed_meeting": {
            "segments": ["mid-market", "smb"],
            "audiences": ["Controller", "CFO", "Accounting Manager"],
            "sends": (60, 600),
            "rates": (0.61, 0.10, 0.09, 0.030),
            "subjects": ['Missed you today | New time?',
                         'Rescheduling our 2 p.m. | Still want to talk close automation?',
                         'We can do this by email instead | Sorry we missed each other',
                         '!Where were you???',
            ],
            "openings": [
                "Looks like today's call did not work out. No problem; month-end has a way of "
                "taking over.",
                "We had 2 p.m. on the calendar and I think the close got in the way.",
                "Sorry we missed each other this morning.",
                "!We were really disappointed that you did not show up to our scheduled meeting "
                "today, as we had prepared a lot of material for you.",
            ],
            "ctas": [
                "Here are two new slots: Tuesday at 10 or Thursday at 3. Reply with the one you want.",
                "Pick any 20 minutes that suit you: https://{domain}/book?utm_source=hubspot"
                "&utm_medium=email&utm_campaign=noshow",
                "If email is easier, reply with your ERP and entity count and I will send the numbers.",
            ],
        },
        "newsletter": {
            "segments": ["customers", "all contacts"],
            "audiences": ["Controller", "Accounting Manager", "Staff Accountant"],
            "sends": (9000, 42000),
            "rates": (0.38, 0.045, 0.002, 0.001),
            "subjects": ['Close notes: October | Close notes: faster bank recs',
                         'Close notes: three fixes for day one | Close notes: small changes, shorter day one',
                         'Close notes: what auditors asked for this year | Close notes: audit season prep',
                         '!Our BIGGEST newsletter EVER',
            ],
            "openings": [
                "This month: faster matching rules, a new accruals report, and one tip from a "
                "customer who closes in four days.",
                "Three small changes shipped this month. Each one saves a few minutes a day; "
                "together they save most of day one.",
                "Audit season is close. Here is what reviewers asked our customers for most often "
                "this year.",
                "!Welcome to another jam-packed edition of the newsletter everyone is talking "
                "about, full of exciting updates you will love.",
            ],
            "ctas": [
                "Full release notes: https://{domain}/changelog?utm_source=newsletter"
                "&utm_medium=email&utm_campaign=close_notes",
                "Got a close tip worth sharing? Reply. We read every one.",
                "The customer story is here: https://{domain}/stories?utm_source=newsletter"
                "&utm_medium=email&mc_cid=8a1f2b&mc_eid=77e0c1",
            ],
        },
        "announcement": {
            "segments": ["customers", "trial users"],
            "audiences": ["Controller", "VP Finance", "Accounting Manager"],
            "sends": (6000, 30000),
            "rates": (0.41, 0.06, 0.004, 0.004),
            "subjects": ['New: flux analysis | Flux analysis is live',
                         'Sage Intacct sync is live | Connect Sage Intacct in two hours',
                         'Intercompany eliminations, now automatic | New: eliminations across entities',
                         'Price change for new plans | New pricing from March 1 (yours stays)',
                         '!BIG NEWS: The future of finance is here!',
            ],
            "openings": [
                "Flux analysis is live for every account today. No setup needed.",
                "You can now connect Sage Intacct in about two hours.",
                "Starting today, Ledgerly eliminates intercompany balances across entities.",
                "From March 1 new plans cost $600 a month for up to 3 entities. If you are already "
                "a customer, your price does not change.",
                "!We are absolutely thrilled to share some truly groundbreaking news that is going "
                "to revolutionize everything.",
            ],
            "ctas": [
                "Details and a 3-minute video: https://{domain}/new?utm_source=hubspot"
                "&utm_medium=email&utm_campaign=launch",
                "Questions? Reply to this email.",
                "Turn it on under Settings > Close. It takes a minute.",
            ],
        },
    },
}

BRIGHTBEAN = {
    "name": "Bright Bean", "domain": "brightbean.example", "utm": "brightbean",
    "signoffs": ["Stay bright,\nthe Bright Bean crew"],
    "footer": ["Bright Bean Coffee Co., 1207 SE Alder St, Portland, OR 97214",
               "Not feeling the buzz? Unsubscribe: https://brightbean.example/unsubscribe"],
    "generic": ["Hey there,", "Hi friend,", "Hello, coffee person,"],
    "ps": ["P.S. Our roaster Ana says hi. She also says please stop storing beans in the fridge.",
           "P.S. Reply with your brew method and we'll send you our cheat sheet for it.",
           "P.S. Every box ships carbon-neutral, and the mailer makes a great cat fort. 🐈",
           "P.S. Skip a month anytime. We won't take it personally. Much.",
           "P.S. Our 2 a.m. roasting playlist is public now. It's mostly jazz and questionable "
           "80s synth."],
    "details": [
        "This month's roast is Sunny Side, a washed Ethiopian that tastes like apricot jam and "
        "black tea. Grind it a little finer than usual and give it 30 seconds to bloom.",
        "Night Owl is back: our Swiss Water decaf from Huila, Colombia. Chocolatey, nutty, zero "
        "jitters. Yes, you can have a cup at 10 p.m. We won't tell.",
        "Quick brew tip: 1 gram of coffee to 16 grams of water, water just off the boil. Weigh it "
        "once and you will never go back to scoops.",
        "Every bag is roasted on Monday and shipped on Tuesday, so it reaches you four to ten days "
        "off roast. That's the sweet spot. 🙌",
        "Cold brew season is here: 100 grams coarse grounds, 1 liter of cold water, 14 hours in the "
        "fridge. Strain, pour over ice, feel smug.",
        "You can skip, swap or pause any delivery in two taps. No phone calls, no guilt trips, no "
        "\"are you sure?\" pages.",
        "Our farmers at Finca La Esperanza got paid 40% above fair-trade minimum this year. Good "
        "coffee starts with people who are paid properly.",
        "Bean There, our sampler box, has four 100-gram bags from four countries. It's the best "
        "way to find your favorite without committing to a whole bag.",
        "Morning Glory is our house blend: caramel, toasted almond and a little cherry. It forgives "
        "a sleepy barista, which is most of us before 7 a.m.",
        "Shipping is free on every subscription, and the bags are compostable. The valve too. We "
        "checked.",
        "Our grinder of the month is a hand grinder that fits in a backpack. Ana uses one on "
        "camping trips and swears the coffee tastes better with a view.",
        "Water matters more than you think: if your tap tastes of chlorine, your coffee will too. "
        "A cheap pitcher filter fixes most of it.",
        "Espresso folks: Sunny Side pulls bright and juicy at 93°C. Morning Glory wants 94°C and a "
        "slightly longer shot. Tiny changes, big difference.",
        "Store your beans in the bag they came in, valve and all, away from the fridge. The fridge "
        "makes them taste like last night's leftovers.",
        "!Bright Bean Coffee Company is committed to providing high-quality coffee products and "
        "services that meet the needs of our valued customers.",
        "!Please be advised that our product catalogue contains a wide variety of coffee options "
        "available for purchase at competitive prices.",
    ],
    "campaigns": {
        "after_demo": {
            "segments": ["office accounts"],
            "audiences": ["office manager", "people ops lead", "founder"],
            "sends": (80, 900),
            "rates": (0.55, 0.11, 0.06, 0.030),
            "subjects": ['Your office tasting, recapped ☕ | The beans your team voted for',
                         'That oat-milk question from Tuesday | Yes, it works with oat milk',
                         'Office coffee, sorted: next steps | Coffee for the {company} crew',
                         '!Follow-up regarding your recent product demonstration',
            ],
            "openings": [
                "Thanks for letting us take over your kitchen on Tuesday. The votes are in: "
                "{count} people picked Morning Glory, and the espresso crowd went for Sunny Side.",
                "That was a fun tasting. Somebody on your team asked if we do oat-milk-friendly "
                "roasts. Short answer: Night Owl and Morning Glory both hold up great with oat.",
                "Great to meet the {company} crew. Here's the short version of what an office "
                "plan looks like for a team your size.",
                "!We are writing to follow up on the product demonstration that took place at your "
                "office location earlier this week.",
            ],
            "ctas": [
                "Office plans start at 5 kg a month, delivered every other Tuesday. Want us to set "
                "one up? Just hit reply.",
                "Here's the plan builder, pre-filled with your team's picks: "
                "https://{domain}/office?utm_source=klaviyo&utm_medium=email&utm_campaign=office_demo",
                "Want a second round for the folks who missed it? Reply with a date and we'll "
                "bring the grinder.",
            ],
        },
        "content_download": {
            "segments": ["subscribers", "prospects"],
            "audiences": ["home brewer", "cold brew fan", "espresso fan"],
            "sends": (900, 12000),
            "rates": (0.47, 0.08, 0.004, 0.015),
            "subjects": ["Your Brew Guide is here (page 7 is the good part) | The grind chart you'll actually use",
                         'You downloaded the cold brew e-book. Now what? | Cold Brew, Warm Heart: start with chapter 2',
                         'The pour-over cheat sheet, in your inbox | Pin this next to the kettle',
                         'About that brew guide | Better coffee by next week (probably)',
                         '!Your requested document is attached',
            ],
            "openings": [
                "You grabbed our Brew Guide. Smart move. If you only read one page, make it page 7: "
                "the grind chart.",
                "Thanks for downloading \"Cold Brew, Warm Heart.\" Fair warning: it gets addictive "
                "around chapter 2.",
                "Your pour-over cheat sheet is ready. Pin it next to the kettle; future you will say "
                "thanks.",
                "Fun fact: people who download our brew guide make better coffee within a week. "
                "Okay, we made that up, but we believe it.",
                "!Thank you for your interest in our educational materials. Please find the "
                "requested document at the link below.",
            ],
            "ctas": [
                "Want beans that suit the guide? The sampler is 20% off this week: "
                "https://{domain}/sampler?utm_source=klaviyo&utm_medium=email&utm_campaign=guide",
                "Got a brewing question the guide didn't answer? Reply. A real human barista reads "
                "these.",
                "The full guide lives here if you lose the PDF: https://{domain}/brew-guide"
                "?utm_source=klaviyo&utm_medium=email&_hsenc=p2ANqtz-9x",
            ],
        },
        "trial_ending": {
            "segments": ["trial"],
            "audiences": ["new subscriber", "home brewer"],
            "sends": (400, 6000),
            "rates": (0.62, 0.14, 0.005, 0.080),
            "subjects": ['Your trial bag is almost empty (we checked) | Your first full box ships Friday',
                         "Trial's ending. Your beans don't have to. | Last call for your first box price",
                         "Keep the good mornings coming? | Too bright? Let's swap your roast",
                         '!Notice: Your trial subscription will expire soon',
            ],
            "openings": [
                "Your trial bag should be running low about now. Before it's gone: your first full "
                "box ships Friday unless you change something.",
                "Your Bright Bean trial ends in three days. Here's what happens next, in plain "
                "English.",
                "How's the trial going? If Sunny Side was a bit bright for you, we can swap your "
                "next bag for something rounder.",
                "!This is a reminder that your trial subscription period is scheduled to end. "
                "Please review your account settings.",
            ],
            "ctas": [
                "Keep it going, swap the roast, or pause. All in one place: "
                "https://{domain}/account?utm_source=klaviyo&utm_medium=email&utm_campaign=trial_end",
                "Not for you? Cancel in two taps, no hard feelings. But we'd love to know why.",
                "Reply with \"surprise me\" and we'll pick your next roast.",
            ],
        },
        "reengage_cold": {
            "segments": ["lapsed subscribers"],
            "audiences": ["home brewer", "espresso fan", "gift buyer"],
            "sends": (3000, 26000),
            "rates": (0.26, 0.035, 0.002, 0.008),
            "subjects": ['We saved you a bag | The roastery misses you',
                         'Long time no brew 👀 | Morning Glory remembers you',
                         'One last cup? | No guilt trip, just good coffee',
                         '!We value your continued business',
            ],
            "openings": [
                "It's been a few months, and honestly, the roastery feels a little quieter without "
                "you.",
                "Remember Morning Glory? It remembers you.",
                "No guilt trip here. Coffee habits change. We just wanted to say we've roasted some "
                "really good stuff since you left.",
                "!We have noticed that you have not placed an order in some time and would like to "
                "invite you to consider our products again.",
            ],
            "ctas": [
                "Come back for a bag at half price, on us: https://track.{domain}/c/9fA2kLq7Zx",
                "Restart in one tap, or pause again whenever you like: https://{domain}/restart"
                "?utm_source=klaviyo&utm_medium=email&utm_campaign=winback",
                "Or just reply and tell us what you're drinking now. We're curious, not clingy.",
            ],
        },
        "after_webinar": {
            "segments": ["subscribers", "office accounts"],
            "audiences": ["home brewer", "espresso fan", "office manager"],
            "sends": (300, 3500),
            "rates": (0.53, 0.12, 0.008, 0.020),
            "subjects": ['Your virtual cupping recap (and the slurp video) | Thanks for cupping with us!',
                         'Your latte art, rated (kindly) | That was a lot of tulips',
                         "Missed the cupping? The replay's up | The three beans from Thursday's tasting",
                         '!Event follow-up and survey request',
            ],
            "openings": [
                "Thanks for slurping along on Thursday. We promise nobody heard you. Well, maybe a "
                "little.",
                "What a class. {count} of you poured a heart on the first try, and a lot more of "
                "you poured something we'll generously call a tulip.",
                "Sorry you couldn't make the virtual cupping. The recording is up, slurps and all.",
                "!Thank you for registering for our recent online event. We hope that you found the "
                "content informative.",
            ],
            "ctas": [
                "Watch the replay: https://{domain}/events/cupping?utm_source=zoom&utm_medium=email"
                "&utm_campaign=cupping_oct",
                "Want the three tasting coffees as a set? Reply \"cupping box\" and we'll send a link.",
                "Next class is in two weeks. Save a seat: https://{domain}/events",
            ],
        },
        "missed_meeting": {
            "segments": ["office accounts"],
            "audiences": ["office manager", "founder"],
            "sends": (40, 400),
            "rates": (0.60, 0.09, 0.08, 0.020),
            "subjects": ["We missed you (the espresso didn't) | Rain check on our call?",
                         'New time for your coffee chat? | Crickets, then coffee?',
                         "No-show? No worries. | Let's try that call again",
                         '!Missed appointment notification',
            ],
            "openings": [
                "Looks like our call slipped through the cracks today. Happens to the best of us, "
                "especially before coffee.",
                "We had a coffee chat on the calendar and then... crickets. Totally fine.",
                "Sorry we missed each other! Office life is chaos, we get it.",
                "!Our records indicate that you were unable to attend your scheduled appointment."
            ],
            "ctas": [
                "Grab a new slot whenever suits: https://{domain}/chat?utm_source=klaviyo"
                "&utm_medium=email&utm_campaign=noshow",
                "Or reply with your headcount and we'll just send a quote. No call needed.",
                "Reply with a day that works and we'll make it happen.",
            ],
        },
        "newsletter": {
            "segments": ["subscribers"],
            "audiences": ["home brewer", "espresso fan", "cold brew fan"],
            "sends": (12000, 48000),
            "rates": (0.42, 0.06, 0.001, 0.010),
            "subjects": ['The Daily Grind: October | The Daily Grind: grab a mug',
                         'The Daily Grind: the nerdy issue | The Daily Grind: we got a new roaster',
                         'The Daily Grind: meet our roaster | The Daily Grind: Ana says hi (and stop boiling)',
                         '!Monthly Bright Bean Corporate Update',
            ],
            "openings": [
                "Welcome to The Daily Grind, our monthly note from the roastery. Grab a mug.",
                "This month's Daily Grind is a little nerdy. We blame the new roaster.",
                "Meet Ana, who has roasted every bag you've ever had from us. She says hi. She also "
                "says please stop using boiling water.",
                "!The following newsletter contains company updates for the current period.",
            ],
            "ctas": [
                "Read the full issue on the blog: https://{domain}/blog?utm_source=newsletter"
                "&utm_medium=email&utm_campaign=daily_grind&mc_cid=4c2a&mc_eid=91bd",
                "Hit reply with your best coffee photo. Our favorite gets a free bag.",
                "Add this month's roast to your next box: https://{domain}/shop"
                "?utm_source=newsletter&utm_medium=email",
            ],
        },
        "announcement": {
            "segments": ["subscribers", "lapsed subscribers"],
            "audiences": ["home brewer", "gift buyer", "espresso fan"],
            "sends": (8000, 40000),
            "rates": (0.45, 0.08, 0.001, 0.020),
            "subjects": ['Night Owl decaf is back 🦉 | The decaf you asked for',
                         'Gift subscriptions are here | Give someone better mornings',
                         'New: compostable everything | Every bag, label and mailer: compostable',
                         '!Announcement regarding product availability',
            ],
            "openings": [
                "The decaf you kept asking about is back, and it's better than last year.",
                "You can now gift a Bright Bean subscription. Three, six or twelve months of good "
                "mornings, wrapped in a very nice email.",
                "Big news from the packing table: every bag, label and mailer is now compostable.",
                "!We are pleased to announce that a new product is now available in our online "
                "store for purchase.",
            ],
            "ctas": [
                "Get it while it's fresh: https://{domain}/shop/night-owl?utm_source=klaviyo"
                "&utm_medium=email&utm_campaign=launch",
                "Gift a few months of joy: https://{domain}/gift?utm_source=klaviyo&utm_medium=email",
                "Questions? Reply. We answer faster than our espresso machine heats up.",
            ],
        },
    },
}


def _good_weak(pieces: list[str]) -> tuple[list[str], list[str]]:
    return [p for p in pieces if not p.startswith("!")], [p[1:] for p in pieces if p.startswith("!")]


def _fill(text: str, ctx: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ctx.get(m.group(1), m.group(0))), text)


def _html(paragraphs: list[str]) -> str:
    def link(p: str) -> str:
        return re.sub(r"(https?://\S+?)([.,]?)(?=\s|$)", r'<a href="\1">\1</a>\2', p)
    inner = "".join(f"<p>{link(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (f'<html><body><div style="font-family:Arial">{inner}<img src="https://open.'
            'tracker.example/o.gif?id=1" width="1" height="1"></div></body></html>')


def _counts(rng: random.Random, sends: int, rates: tuple, quality: float) -> dict:
    lift = math.exp(0.45 * quality + rng.gauss(0, 0.25))
    out, base = {"sends": sends}, None
    for key, rate in zip(("opens", "clicks", "replies", "conversions"), rates, strict=True):
        r = min(rate * (lift if key != "opens" else math.sqrt(lift)), 0.95)
        n = max(0, round(rng.gauss(sends * r, math.sqrt(sends * r * (1 - r)) + 0.5)))
        base = n if key == "opens" else base
        out[key] = min(n, base if key != "opens" else sends)
    return out


def build(brand: dict, n: int, seed: int) -> list[dict]:
    """n emails for one brand: composed, timed, measured; plus resends and the usual export mess."""
    rng = random.Random(seed)
    names = brand["campaigns"]
    order = [c for c in names for _ in range(2)]
    rows: list[dict] = []
    day = date(2025, 1, 6)
    for i in range(n):
        campaign = order[i % len(order)] if i < len(order) else rng.choice(list(names))
        spec = names[campaign]
        ctx = {"company": rng.choice(COMPANIES), "example": rng.choice(COMPANIES[:6]),
               "days": rng.choice([9, 10, 11, 12, 14]), "domain": brand["domain"],
               "matched": f"{rng.randint(300, 2400):,}", "tasks": rng.randint(12, 48),
               "count": rng.randint(5, 19)}
        # About one email in five was written off-voice; those are the poor performers.
        off = rng.random() < 0.2
        openings, weak_openings = _good_weak(spec["openings"])
        subjects, weak_subjects = _good_weak(spec["subjects"])
        pick = rng.randrange(len(openings))
        weak_open = off and rng.random() < 0.6
        opening = rng.choice(weak_openings) if weak_open else openings[pick]
        weak_subject = off and (rng.random() < 0.5 or not weak_open)
        subject = (rng.choice(weak_subjects) if weak_subject
                   else rng.choice(subjects[pick].split(" | ")))
        good, weak = _good_weak(brand["details"])
        details = rng.sample(good, 4)
        if off and rng.random() < 0.6:
            details[0] = rng.choice(weak)
        cta = rng.choice(spec["ctas"])
        one_to_one = campaign in ("after_demo", "missed_meeting", "trial_ending")
        greeting = (f"Hi {rng.choice(NAMES)}," if one_to_one or rng.random() < 0.3
                    else _fill(rng.choice(brand["generic"]), ctx))
        ps = rng.choice(brand["ps"]) if rng.random() < 0.35 else None
        k = {"newsletter": rng.choice([3, 4]), "announcement": rng.choice([2, 3]),
             "content_download": 2}.get(campaign, rng.choice([1, 2]))
        while True:
            paragraphs = [_fill(p, ctx) for p in
                          [greeting, opening, *details[:k], cta, rng.choice(brand["signoffs"])]]
            if ps:
                paragraphs.append(_fill(ps, ctx))
            words = len(" ".join(paragraphs).split())
            if words >= 70 or k == len(details):
                break
            k += 1
        quality = -0.7 if off else 0.6
        lo, hi = spec["sends"]
        sends = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        body_paras = paragraphs + (brand["footer"] if rng.random() < 0.9 else [])
        body = "\n\n".join(body_paras)
        if i % 23 == 5:
            body = _html(body_paras)
        elif one_to_one and i % 9 == 4:
            who = rng.choice(NAMES)
            body += (f"\n\nOn Tue, {rng.randint(2, 27)} Oct 2025 at 09:{rng.randint(10, 59)}, {who} "
                     f"<{who.lower()}@{ctx['company'].split()[0].lower()}.example> wrote:\n"
                     "> Sorry, something came up on our side. Can we find another time?\n"
                     f"> {who}")
        day += timedelta(days=rng.randint(2, 7))
        rows.append({"brand": brand["name"], "sent_at": day.isoformat(), "campaign": campaign,
                     "segment": rng.choice(spec["segments"]),
                     "audience": rng.choice(spec["audiences"]), "subject": _fill(subject, ctx),
                     "body": body, **_counts(rng, sends, spec["rates"], quality),
                     "_words": words})
    # Tiny sends: internal tests and one-offs whose perfect rates mean nothing.
    for j in rng.sample(range(len(rows)), 5):
        r = rows[j]
        r["sends"] = rng.randint(2, 60)
        r["opens"] = r["sends"] - rng.randint(0, 1)
        r["clicks"] = max(1, r["opens"] // 2)
        r["replies"] = min(r["clicks"], rng.randint(0, 2))
        r["conversions"] = min(r["clicks"], 1)
    # Resends to non-openers: same body, new subject (or one changed line), fewer sends.
    for j in rng.sample(range(len(rows)), 3):
        src = rows[j]
        if src["sends"] < 100:
            continue
        copy = dict(src)
        copy["subject"] = "Resend: " + src["subject"] if rng.random() < 0.5 else src["subject"] + " (reminder)"
        copy["body"] = src["body"].replace("Hi ", "Hi again, ", 1) if "Hi " in src["body"] else src["body"]
        day += timedelta(days=1)
        copy["sent_at"] = day.isoformat()
        copy.update(_counts(rng, max(50, int(src["sends"] * 0.6)),
                            brand["campaigns"][src["campaign"]]["rates"], -0.5))
        rows.append(copy)
    rows.append(dict(rows[rng.randrange(len(rows))]))  # the same row exported twice
    rows.sort(key=lambda r: r["sent_at"])
    return rows


# The campaign column uses the same names as the prompt templates' use cases (prompts/*.j2), so a
# training brief ("Campaign: demo follow-up") looks like the brief generation renders later.
CAMPAIGN_NAMES = {
    "after_demo": "demo follow-up", "content_download": "content follow-up",
    "trial_ending": "trial ending", "reengage_cold": "re-engagement",
    "after_webinar": "event follow-up", "missed_meeting": "missed meeting",
}


def write(rows: list[dict], path: Path) -> None:
    """Write rows as CSV (UTF-8) via a temp file and rename."""
    rows = [{**r, "campaign": CAMPAIGN_NAMES.get(r["campaign"], r["campaign"])} for r in rows]
    cols = ["brand", "sent_at", "campaign", "segment", "audience", "subject", "body", "sends",
            "opens", "clicks", "replies", "conversions"]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def main() -> None:
    for brand, n, seed, name in ((LEDGERLY, 84, 11, "emails_ledgerly.csv"),
                                 (BRIGHTBEAN, 86, 23, "emails_brightbean.csv")):
        rows = build(brand, n, seed)
        words = [r["_words"] for r in rows]
        write(rows, HERE / name)
        print(f"{name}: {len(rows)} emails, {min(words)}-{max(words)} words")


if __name__ == "__main__":
    main()
